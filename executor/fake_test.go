package executor

import (
	"context"
	"fmt"
	"sync"

	"connrecon/internal/apierr"
)

// reply is one scripted answer of fakeMover.
type reply struct {
	call apierr.Call
	err  error
}

// event is one step of a call as fakeMover saw it; seq orders all events.
type event struct {
	seq         int
	start       bool // false: the call returned
	connectorID string
	ctxDone     bool // at start: the context was already cancelled
}

// fakeMover is a hand-written Mover. It records every call in order, answers
// from a per-connector script (success when the script is used up), tracks
// the most calls in flight at once, and can hold calls at a gate.
type fakeMover struct {
	mu          sync.Mutex
	script      map[string][]reply
	calls       map[string]int // calls per connector id
	events      []event
	groups      map[string]string // connector id → group id of its last call
	apps        map[string]bool   // ids moved as applications
	inFlight    int
	maxInFlight int

	// gate, when set, is called inside every call before it answers; tests
	// use it to hold calls as a barrier. It runs without f.mu held.
	gate func(ctx context.Context, connectorID string) error
}

func newFakeMover() *fakeMover {
	return &fakeMover{script: map[string][]reply{}, calls: map[string]int{}, groups: map[string]string{}, apps: map[string]bool{}}
}

// on scripts the replies for one connector, in order.
func (f *fakeMover) on(connectorID string, replies ...reply) *fakeMover {
	f.script[connectorID] = replies
	return f
}

func (f *fakeMover) MoveConnector(ctx context.Context, connectorID, groupID string) (apierr.Call, error) {
	f.mu.Lock()
	n := f.calls[connectorID]
	f.calls[connectorID]++
	f.groups[connectorID] = groupID
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.events = append(f.events, event{seq: len(f.events), start: true, connectorID: connectorID, ctxDone: ctx.Err() != nil})
	gate := f.gate
	f.mu.Unlock()

	var r reply
	if gate != nil {
		if err := gate(ctx, connectorID); err != nil {
			r = reply{err: err} // like an HTTP client whose request was cancelled
		}
	}
	if r.err == nil {
		if s := f.script[connectorID]; n < len(s) {
			r = s[n]
		} else {
			r = reply{call: okCall(connectorID, n+1)}
		}
	}

	f.mu.Lock()
	f.inFlight--
	f.events = append(f.events, event{seq: len(f.events), connectorID: connectorID})
	f.mu.Unlock()
	return r.call, r.err
}

// MoveApplication is MoveConnector for an application: its id shares the
// script, counts and events, and f.apps records it was an application's.
func (f *fakeMover) MoveApplication(ctx context.Context, applicationID, groupID string) (apierr.Call, error) {
	f.mu.Lock()
	f.apps[applicationID] = true
	f.mu.Unlock()
	return f.MoveConnector(ctx, applicationID, groupID)
}

// okCall is the Call of a successful attempt: trace ids name the connector
// and attempt so a test can tell which attempt a Result kept.
func okCall(connectorID string, attempt int) apierr.Call {
	return apierr.Call{Status: 204, RequestID: fmt.Sprintf("req-%s-%d", connectorID, attempt), ClientRequestID: fmt.Sprintf("cli-%s-%d", connectorID, attempt)}
}

func (f *fakeMover) callCount(connectorID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[connectorID]
}

func (f *fakeMover) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeMover) history() []event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event(nil), f.events...)
}

func (f *fakeMover) started() []string {
	var ids []string
	for _, e := range f.history() {
		if e.start {
			ids = append(ids, e.connectorID)
		}
	}
	return ids
}

func (f *fakeMover) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight
}

func (f *fakeMover) current() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight
}
