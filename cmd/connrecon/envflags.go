package main

import (
	"flag"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"connrecon/internal/safetext"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "CONNRECON_"

// envName is the environment variable that sets flag name: CONNRECON_ and
// the name in upper case, '-' as '_' (--max-retry-time:
// CONNRECON_MAX_RETRY_TIME). One-letter flags have none: -m is --mapping's
// alias (CONNRECON_MAPPING), and CONNRECON_O would say nothing.
func envName(name string) string {
	if len(name) < 2 {
		return ""
	}
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// setFromEnv gives every flag of fs that the command line did not set the
// value of its environment variable, if that is not empty: the one place
// the environment reaches options (as rclone's fs/config/flags does).
// given holds the names set on the command line, in fs or in an earlier
// flag set (the global options given before the command); a flag sharing
// its target with a given one (-m and --mapping) counts as given, so the
// flag always wins. The value is set through the flag's Value, not
// fs.Set: checks that ask which flags the command line gave (fs.Visit)
// still see only the command line. It returns the variables it used, and
// a usage error naming the variable for a value the flag refuses.
//
// A switch (a bool flag) is on for any value but 0 or false (any case), as
// CONNRECON_NO_PROGRESS and CONNRECON_OVERWRITE always were.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string, given map[string]bool) ([]string, error) {
	var givenValues []flag.Value
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			givenValues = append(givenValues, f.Value)
		}
	})
	var used []string
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := envName(f.Name)
		if err != nil || key == "" || given[f.Name] || sharesTarget(f.Value, givenValues) {
			return
		}
		v := getenv(key)
		if v == "" {
			return
		}
		if isBool(f.Value) {
			v = strconv.FormatBool(envBool(v))
		}
		if e := f.Value.Set(v); e != nil {
			// The flag's own error quotes the value: cut and escaped, it
			// comes from outside.
			err = usageErrorf("%s=%s: invalid value for --%s: %s", key, safetext.Escape(strconv.Quote(safetext.Truncate(v, 64))), f.Name, safetext.Text(e.Error()))
			return
		}
		used = append(used, key)
	})
	return used, err
}

// givenFlags are the names fs's command line set.
func givenFlags(fs *flag.FlagSet, into map[string]bool) map[string]bool {
	if into == nil {
		into = map[string]bool{}
	}
	fs.Visit(func(f *flag.Flag) { into[f.Name] = true })
	return into
}

// sharesTarget reports whether v writes where one of vs does: the flag
// package's values are pointers to the option, so two names of one option
// hold equal values. Values that cannot be compared (flag.Func) share
// nothing.
func sharesTarget(v flag.Value, vs []flag.Value) bool {
	if !reflect.TypeOf(v).Comparable() {
		return false
	}
	for _, o := range vs {
		if reflect.TypeOf(o) == reflect.TypeOf(v) && o == v {
			return true
		}
	}
	return false
}

func isBool(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// envNote names the environment variables a run took options from, for
// an error about options: the command line alone does not explain it.
func envNote(used []string) string {
	if len(used) == 0 {
		return ""
	}
	seen := map[string]bool{}
	var names []string
	for _, u := range used {
		if !seen[u] {
			seen[u] = true
			names = append(names, u)
		}
	}
	sort.Strings(names)
	return " (options also set from the environment: " + strings.Join(names, ", ") + ")"
}

// envBool reads a switch from the environment: any value but empty, 0 or
// false turns it on.
func envBool(v string) bool {
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// withEnvNote adds envNote to a refused option; the error it wraps keeps
// deciding the exit code.
func withEnvNote(err error, used []string) error {
	note := envNote(used)
	if note == "" {
		return err
	}
	return fmt.Errorf("%w%s", err, note)
}
