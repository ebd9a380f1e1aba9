package graph

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"

	"connrecon/internal/apierr"
)

// queryOptions is what the service taught this client, during this run,
// about the query options of its collection reads ($top, $select). The
// real service's page-size cap and which options it accepts are unknown
// (issue 14): one that caps $top below PageSize answers 400 to every read,
// and the tool could not plan at all. A 400 naming an option makes that
// read retry once without it (or with the limit the message names), and
// the lesson holds for every later read, so they do not pay the 400
// again. Safe for concurrent reads.
type queryOptions struct {
	mu       sync.Mutex
	top      int             // largest $top the service takes; 0: none learnt
	noTop    bool            // $top refused without a limit: read with the service's page size
	noSelect map[string]bool // collections (last path segment) whose $select was refused
	noted    map[string]bool // notes made this run, so that each is made once
	notes    []string        // notes not yet handed to a caller (see takeNotes)
}

// Query options a read may drop or lower, as fallback and tried name them.
const (
	optTop    = "$top"
	optSelect = "$select"
)

var (
	// A message about the page size: "$top", the word "top", "page size"
	// (in a code too: InvalidPageSize).
	topWords = regexp.MustCompile(`(?i)\$top\b|\btop\b|page ?size`)
	// The limit it names: "Must be between 1 and 100 inclusive".
	topRange = regexp.MustCompile(`(?i)\bbetween\s+(\d+)\s+and\s+(\d+)\b`)
	// A message about $select. A property from the $select list counts
	// only when quoted ('externalIp'): "status" or "version" bare could
	// be any message's words.
	selectWords = regexp.MustCompile(`(?i)\$select\b|\bselect\b`)
)

// maxNoteQuote bounds how much of the service's message a note quotes.
const maxNoteQuote = 200

// apply is the first page's request of a read as the lessons learnt so
// far shape it: first itself when they change nothing, so a healthy
// service costs not a request or an allocation more.
func (q *queryOptions) apply(first *abs.RequestInformation) *abs.RequestInformation {
	q.mu.Lock()
	top, noTop, anySelect := q.top, q.noTop, len(q.noSelect) > 0
	q.mu.Unlock()
	if top == 0 && !noTop && !anySelect {
		return first
	}
	u, err := first.GetUri()
	if err != nil {
		return first // the read fails on sending it, as before
	}
	q.mu.Lock()
	dropSelect := q.noSelect[path.Base(u.Path)]
	q.mu.Unlock()
	v := u.Query()
	changed := false
	if asked := v.Get(optTop); asked != "" {
		n, err := strconv.Atoi(asked)
		switch {
		case noTop:
			v.Del(optTop)
			changed = true
		case top > 0 && err == nil && n > top:
			v.Set(optTop, strconv.Itoa(top))
			changed = true
		}
	}
	if dropSelect && v.Has(optSelect) {
		v.Del(optSelect)
		changed = true
	}
	if !changed {
		return first
	}
	nu := *u
	nu.RawQuery = v.Encode()
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(nu)
	info.Headers.TryAdd("Accept", "application/json")
	return info
}

// fallback answers a read whose first page (sent as cur, built from
// first) failed with err: the request to send instead, or nil when err
// is not a 400 naming a query option the request carries, or when that
// option's fallback was tried already in this read (tried). It learns
// the lesson for the rest of the run and notes it once.
func (q *queryOptions) fallback(what string, first, cur *abs.RequestInformation, err error, tried map[string]bool) *abs.RequestInformation {
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Class != apierr.Other {
		return nil
	}
	u, uerr := cur.GetUri()
	if uerr != nil {
		return nil
	}
	v := u.Query()
	text := ae.Code + " " + ae.Message
	quoted, _ := mask(ae.Message, maxNoteQuote)
	kind := path.Base(u.Path)
	var note, key string
	switch {
	case v.Has(optTop) && !tried[optTop] && topWords.MatchString(text):
		tried[optTop] = true
		asked, _ := strconv.Atoi(v.Get(optTop))
		limit := 0
		if m := topRange.FindStringSubmatch(text); m != nil {
			if n, err := strconv.Atoi(m[2]); err == nil && n >= 1 && (asked == 0 || n < asked) {
				limit = n
			}
		}
		q.mu.Lock()
		if limit > 0 {
			if q.top == 0 || limit < q.top {
				q.top = limit
			}
			key = "top=" + strconv.Itoa(limit)
			note = fmt.Sprintf("Graph refused $top=%s reading %s (%q): reading with $top=%d for the rest of the run", v.Get(optTop), what, quoted, limit)
		} else {
			q.noTop = true
			key = "top=none"
			note = fmt.Sprintf("Graph refused $top=%s reading %s (%q): reading without $top, in pages of the service's size, for the rest of the run", v.Get(optTop), what, quoted)
		}
	case v.Has(optSelect) && !tried[optSelect] && (selectWords.MatchString(text) || namesProperty(ae.Message, v.Get(optSelect))):
		tried[optSelect] = true
		q.mu.Lock()
		if q.noSelect == nil {
			q.noSelect = map[string]bool{}
		}
		q.noSelect[kind] = true
		key = "select:" + kind
		note = fmt.Sprintf("Graph refused $select=%s reading %s (%q): reading %s without $select (whole objects) for the rest of the run", v.Get(optSelect), what, quoted, kind)
	default:
		return nil
	}
	if !q.noted[key] {
		if q.noted == nil {
			q.noted = map[string]bool{}
		}
		q.noted[key] = true
		q.notes = append(q.notes, note)
	}
	q.mu.Unlock()
	next := q.apply(first)
	if nu, err := next.GetUri(); err != nil || nu.String() == u.String() {
		// The lesson changes nothing (another read's made it already and
		// the service still refuses): the 400 stands.
		return nil
	}
	return next
}

// namesProperty: msg quotes one of the properties of a $select list.
func namesProperty(msg, list string) bool {
	msg = strings.ToLower(msg)
	for _, p := range strings.Split(list, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		for _, q := range []string{"'" + p + "'", `"` + p + `"`, "`" + p + "`"} {
			if strings.Contains(msg, q) {
				return true
			}
		}
	}
	return false
}

// takeNotes hands over the notes made since the last call, each made once
// per run: Snapshot adds them to the state's warnings.
func (q *queryOptions) takeNotes() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.notes
	q.notes = nil
	return n
}
