package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/samples"
)

// TestExportShapedMapping runs plan and apply against the simulator with a
// mapping shaped like a PowerShell export: connectors and groups named by
// id and by name. Rows whose two cells agree move; a row whose id and name
// name different connectors, or different groups, is invalid with both
// values in its reason, and then nothing is applied.
func TestExportShapedMapping(t *testing.T) {
	tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	if err != nil {
		t.Fatal(err)
	}
	var active []graphsim.Connector
	for _, c := range tn.Connectors {
		if c.Status == "active" {
			active = append(active, c)
		}
	}
	if len(active) < 3 || len(tn.Groups) < 3 {
		t.Fatal("the sample tenant is too small for this test")
	}
	groupOf := func(c graphsim.Connector) string {
		if c.Group != "" {
			return c.Group
		}
		for _, g := range tn.Groups {
			if g.IsDefault {
				return g.ID
			}
		}
		return ""
	}
	// Another group for each connector, by id and name.
	other := func(c graphsim.Connector) graphsim.Group {
		for _, g := range tn.Groups {
			if g.ID != groupOf(c) && (g.ConnectorGroupType == "" || g.ConnectorGroupType == "applicationProxy") {
				return g
			}
		}
		t.Fatal("no other group")
		return graphsim.Group{}
	}
	row := func(id, name string, g graphsim.Group, gname string) string {
		return fmt.Sprintf("%q,%q,\"203.0.113.1\",\"active\",\"1.5\",%q,%q\r\n", id, name, g.ID, gname)
	}
	const header = "\"Id\",\"MachineName\",\"ExternalIp\",\"Status\",\"Version\",\"ConnectorGroupId\",\"ConnectorGroupName\"\r\n"
	a, b, c := active[0], active[1], active[2]
	ga, gb, gc := other(a), other(b), other(c)
	agreeing := header + row(a.ID, a.MachineName, ga, ga.Name) + row(b.ID, strings.ToUpper(b.MachineName), gb, gb.Name)

	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	if code := h.run("apply", "-m", writeFile(t, "agree.csv", agreeing), "--yes", "--report-dir", dir, "--unlisted", "ignore"); code != 0 {
		t.Fatalf("apply exit %d; stderr:\n%s", code, &h.stderr)
	}
	rep := readReport(t, dir)
	if rep.Summary.Move != 2 {
		t.Errorf("moves %d, want 2: %+v", rep.Summary.Move, rep.Summary)
	}
	after := map[string]string{}
	for _, conn := range h.sim.State().Connectors {
		after[conn.ID] = conn.Group
	}
	if after[a.ID] != ga.ID || after[b.ID] != gb.ID {
		t.Errorf("after apply: %s in %s (want %s), %s in %s (want %s)", a.MachineName, after[a.ID], ga.ID, b.MachineName, after[b.ID], gb.ID)
	}

	// c's id with b's name; a group id with another group's name.
	wrongGroup := ga.Name
	if gc.Name == ga.Name {
		t.Fatal("the test needs two different groups")
	}
	disagreeing := header + row(c.ID, b.MachineName, gc, gc.Name) + row(a.ID, a.MachineName, gc, wrongGroup)
	before := len(h.posts())
	dir = t.TempDir()
	if code := h.run("apply", "-m", writeFile(t, "disagree.csv", disagreeing), "--yes", "--report-dir", dir, "--unlisted", "ignore"); code != exitInvalid {
		t.Fatalf("apply exit %d, want %d; stderr:\n%s", code, exitInvalid, &h.stderr)
	}
	if n := len(h.posts()) - before; n != 0 {
		t.Errorf("%d POSTs sent for a mapping with invalid rows", n)
	}
	rep = readReport(t, dir)
	reasons := map[int]string{}
	for _, act := range rep.Actions {
		if act.Action == "invalid" {
			reasons[act.Row] = act.Reason
		}
	}
	for _, w := range []struct {
		row  int
		want []string
	}{
		{2, []string{"the Id and MachineName cells name different connectors", c.ID, b.MachineName, b.ID}},
		{3, []string{"the ConnectorGroupId and ConnectorGroupName cells name different connector groups", gc.ID, wrongGroup, ga.ID}},
	} {
		for _, s := range w.want {
			if !strings.Contains(reasons[w.row], s) {
				t.Errorf("row %d reason %q lacks %q", w.row, reasons[w.row], s)
			}
		}
	}
}
