package reconcile

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/plan"
)

// Ids of the fake tenant: GUIDs, as the service has them.
const (
	c1       = "00000000-0000-0000-0000-0000000000c1"
	c2       = "00000000-0000-0000-0000-0000000000c2"
	c3       = "00000000-0000-0000-0000-0000000000c3"
	c4       = "00000000-0000-0000-0000-0000000000c4"
	gdefault = "00000000-0000-0000-0000-00000000d000"
	geast    = "00000000-0000-0000-0000-00000000e000"
	gwest    = "00000000-0000-0000-0000-00000000f000"
)

// fakeTenant is a tenant in memory: connectors in groups, groups with
// applications. It answers moves at once, and can refuse some, lose their
// answer, hide a move from reads, or block until released.
type fakeTenant struct {
	mu        sync.Mutex
	groups    []plan.Group
	conns     []plan.Connector
	refuse    map[string]int  // connector id → HTTP status to refuse its move with
	lost      map[string]bool // connector id → the move is made, its answer lost (a reset)
	hidden    map[string]bool
	block     chan struct{} // when set, every move waits for it (or ctx)
	moves     []string      // "connector→group", in the order they came
	inFlight  int
	maxFlight int
}

func newFakeTenant() *fakeTenant {
	return &fakeTenant{
		groups: []plan.Group{
			{ID: gdefault, Name: "Default", IsDefault: true},
			{ID: geast, Name: "East", Applications: []plan.Application{{ID: "a1", DisplayName: "Payroll"}}},
			{ID: gwest, Name: "West", Applications: []plan.Application{{ID: "a2", DisplayName: "Wiki"}}},
		},
		conns: []plan.Connector{
			{ID: c1, MachineName: "app01", Status: plan.StatusActive, GroupID: gdefault},
			{ID: c2, MachineName: "app02", Status: plan.StatusActive, GroupID: gdefault},
			{ID: c3, MachineName: "app03", Status: plan.StatusActive, GroupID: geast},
			{ID: c4, MachineName: "app04", Status: plan.StatusActive, GroupID: gwest},
		},
		refuse: map[string]int{}, lost: map[string]bool{}, hidden: map[string]bool{},
	}
}

func (f *fakeTenant) Operator() string { return "admin@example.test" }

func (f *fakeTenant) Snapshot(ctx context.Context) (*plan.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &plan.State{Groups: append([]plan.Group{}, f.groups...), Connectors: append([]plan.Connector{}, f.conns...)}
	plan.SortState(s)
	return s, nil
}

func (f *fakeTenant) MoveConnector(ctx context.Context, cid, gid string) (apierr.Call, error) {
	f.mu.Lock()
	f.inFlight++
	if f.inFlight > f.maxFlight {
		f.maxFlight = f.inFlight
	}
	block := f.block
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return apierr.Call{}, ctx.Err()
		}
	} else {
		time.Sleep(time.Millisecond) // long enough for moves to overlap
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	call := apierr.Call{RequestID: "req-" + cid[len(cid)-2:], ClientRequestID: "client-" + cid[len(cid)-2:]}
	if st := f.refuse[cid]; st != 0 {
		call.Status = st
		return call, &apierr.Error{Call: call, Class: apierr.NotFound, Code: "Request_ResourceNotFound", Message: "refused by the fake"}
	}
	for i := range f.conns {
		if f.conns[i].ID == cid {
			f.conns[i].GroupID = gid
		}
	}
	f.moves = append(f.moves, cid+"→"+gid)
	if f.lost[cid] {
		return apierr.Call{ClientRequestID: call.ClientRequestID}, &apierr.Error{Class: apierr.Transient, Message: "connection reset by peer", Err: syscall.ECONNRESET}
	}
	call.Status = 204
	return call, nil
}

func (f *fakeTenant) GroupMembers(ctx context.Context, gid string) ([]string, apierr.Call, error) {
	if err := ctx.Err(); err != nil {
		return nil, apierr.Call{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, c := range f.conns {
		if c.GroupID == gid && !f.hidden[c.ID] {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return ids, apierr.Call{Status: 200, RequestID: "read-" + gid}, nil
}

// MoveApplication moves an application between the groups'
// Applications; refuse and lost apply to application ids as to
// connectors'.
func (f *fakeTenant) MoveApplication(ctx context.Context, aid, gid string) (apierr.Call, error) {
	if err := ctx.Err(); err != nil {
		return apierr.Call{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	call := apierr.Call{RequestID: "req-app-" + aid, ClientRequestID: "client-app-" + aid}
	if st := f.refuse[aid]; st != 0 {
		call.Status = st
		return call, &apierr.Error{Call: call, Class: apierr.NotFound, Code: "Request_ResourceNotFound", Message: "refused by the fake"}
	}
	var app *plan.Application
	for gi := range f.groups {
		g := &f.groups[gi]
		for ai := range g.Applications {
			if g.Applications[ai].ID == aid {
				a := g.Applications[ai]
				app = &a
				g.Applications = append(g.Applications[:ai:ai], g.Applications[ai+1:]...)
				break
			}
		}
	}
	if app == nil {
		call.Status = 404
		return call, &apierr.Error{Call: call, Class: apierr.NotFound, Code: "Request_ResourceNotFound", Message: "no such application"}
	}
	for gi := range f.groups {
		if f.groups[gi].ID == gid {
			f.groups[gi].Applications = append(f.groups[gi].Applications, *app)
		}
	}
	f.moves = append(f.moves, aid+"→"+gid)
	if f.lost[aid] {
		return apierr.Call{ClientRequestID: call.ClientRequestID}, &apierr.Error{Class: apierr.Transient, Message: "connection reset by peer", Err: syscall.ECONNRESET}
	}
	call.Status = 204
	return call, nil
}

func (f *fakeTenant) GroupApplications(ctx context.Context, gid string) ([]string, apierr.Call, error) {
	if err := ctx.Err(); err != nil {
		return nil, apierr.Call{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, g := range f.groups {
		if g.ID == gid {
			for _, a := range g.Applications {
				if !f.hidden[a.ID] {
					ids = append(ids, a.ID)
				}
			}
		}
	}
	sort.Strings(ids)
	return ids, apierr.Call{Status: 200, RequestID: "read-apps-" + gid}, nil
}

func (f *fakeTenant) groupOf(cid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		if c.ID == cid {
			return c.GroupID
		}
	}
	return ""
}

// mappingOf is a parsed mapping of connector → group rows, as a mapping
// reader returns it (rows numbered from 2, under the header).
func mappingOf(pairs ...string) MappingReader {
	return func() (*plan.Mapping, error) {
		m := &plan.Mapping{Path: "mapping.csv", SHA256: fmt.Sprintf("%064d", len(pairs)), ConnectorHeader: "connector", GroupHeader: "group", ConnectorColumn: "A", GroupColumn: "B"}
		for i := 0; i+1 < len(pairs); i += 2 {
			m.Rows = append(m.Rows, plan.Row{Line: i/2 + 2, Connector: pairs[i], Group: pairs[i+1]})
		}
		return m, nil
	}
}

// newRun is a run against t whose output and log are kept.
func newRun(t *testing.T, mode string, tenant Tenant) (*Run, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, log bytes.Buffer
	return &Run{
		Mode: mode, Version: "test", Started: time.Now(), GraphURL: "https://graph.example.test/beta",
		ReportDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(&log, nil)), Out: &out, Tenant: tenant,
	}, &out, &log
}
