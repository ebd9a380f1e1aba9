package mapping

import (
	"fmt"
	"slices"
	"strings"

	"connrecon/plan"
)

// An application mapping (Options.Kind plan.KindApplication, given with
// --apps) puts applications into connector groups, a row each. It is read
// by the same reader as a connector mapping; only its header is read by
// other rules, below. The planner resolves any GUID against both an
// application's object id and its appId, so the reader only tells an id
// column from a name column, and prefers the object id.
//
// The header vocabulary, compared folded (headerKey: case, spaces, '_'
// and '-') as a connector mapping's is:
//
//	role          headers
//	object id     objectId, applicationObjectId, appObjectId
//	appId         appId, applicationId, clientId, applicationClientId
//	name          displayName, applicationName, appName, applicationDisplayName
//	either        application, app
//	object id     Id, only beside another application column (appId, name
//	              or either) and no objectId column, as in
//	              Get-EntraBetaApplication | Select Id, AppId, DisplayName;
//	              never beside a service principal's own columns
//	              (servicePrincipalHeaders), where it is the service
//	              principal's id; never guessed otherwise
//	(not read)    Name: in an application mapping it may be the
//	              application's or the group's; the header error says so
//	group         as in a connector mapping (groupIDHeaders, groupNameHeaders,
//	              groupAnyHeaders), without the bare Name and Id
//
// The first header of each role counts. The application's column
// (Row.Connector) is the object id, else the appId, else the either
// column, else the name; the second one (Row.ConnectorAlt), which must
// agree with it, is the name (else the either column) beside an id, or
// the appId beside the object id when the file has neither. So the
// export's header "application, appId, objectId, connectorGroup,
// connectorGroupId" reads objectId and application (the display name),
// and its appId is not read. A second id column is checked as an id
// (altID); a name beside an id is a name (see check).
//
// A header of the other kind (connector and group columns, no
// application column) is refused with a hint to give it with -m, and a
// connector mapping given an application header is told to use --apps
// (vocabulary.otherKind).
const (
	appObjectID = iota
	appClientID
	appName
	appEither
	appRoles
)

// applicationHeaders are the headers of each role, as the README writes
// them.
var applicationHeaders = [appRoles][]string{
	appObjectID: {"objectId", "applicationObjectId", "appObjectId"},
	appClientID: {"appId", "applicationId", "clientId", "applicationClientId"},
	appName:     {"displayName", "applicationName", "appName", "applicationDisplayName"},
	appEither:   {"application", "app"},
}

// servicePrincipalHeaders are properties a service principal (an
// enterprise application) has and an application object has not: in a
// file that has one, Id is the service principal's object id, which names
// no application, and is not read.
var servicePrincipalHeaders = []string{"servicePrincipalType", "appOwnerOrganizationId", "servicePrincipalNames", "appDisplayName"}

// applicationRole maps a folded header to its role; servicePrincipalKeys
// are servicePrincipalHeaders folded.
var (
	applicationRole = func() map[string]int {
		m := map[string]int{}
		for role, names := range applicationHeaders {
			for _, n := range names {
				m[headerKey(n)] = role
			}
		}
		return m
	}()
	servicePrincipalKeys = func() []string {
		keys := make([]string, len(servicePrincipalHeaders))
		for i, n := range servicePrincipalHeaders {
			keys[i] = headerKey(n)
		}
		return keys
	}()
)

// acceptedApplicationHeaders lists the accepted headers for messages.
func acceptedApplicationHeaders() string {
	var names []string
	for _, ns := range applicationHeaders {
		names = append(names, ns...)
	}
	return "accepted application headers: " + strings.Join(names, ", ") +
		" (and Id, beside other application columns such as AppId or DisplayName, as in an export of applications); " +
		"accepted group headers: group, groupId, connectorGroup, connectorGroupId, groupName, connectorGroupName " +
		"(not a bare Name, which may be the application's)"
}

// appHeaderColumns finds an application mapping's columns among cells
// by the rules above.
func appHeaderColumns(cells []string) headerCols {
	const (
		gID = appRoles + iota
		gName
		gAny
		bareID
		bareName
		kinds
	)
	var at [kinds]int
	for i := range at {
		at[i] = -1
	}
	sp := false
	for i, c := range cells {
		name := trimCell(c)
		if name == "" {
			continue
		}
		key := headerKey(name)
		k, ok := applicationRole[key]
		if !ok {
			k = -1
			switch {
			case slices.Contains(groupIDHeaders, key):
				k = gID
			case slices.Contains(groupNameHeaders, key):
				k = gName
			case slices.Contains(groupAnyHeaders, key):
				k = gAny
			case key == "id":
				k = bareID
			case key == "name":
				k = bareName
			case slices.Contains(servicePrincipalKeys, key):
				sp = true
			}
		}
		if k >= 0 && at[k] < 0 {
			at[k] = i
		}
	}
	h := headerCols{ci: -1, ci2: -1, gi: -1, gi2: -1, idColumn: -1, unreadID: -1, unreadNm: at[bareName], servicePrincipals: sp}
	obj := at[appObjectID]
	hasApp := at[appClientID] >= 0 || at[appName] >= 0 || at[appEither] >= 0
	if id := at[bareID]; id >= 0 {
		if obj < 0 && hasApp && !sp {
			obj = id
		} else {
			h.unreadID = id
		}
	}
	id := obj
	if id < 0 {
		id = at[appClientID]
	}
	h.ci, h.ci2 = pair(id, at[appName], at[appEither])
	if obj >= 0 && h.ci2 < 0 && at[appClientID] >= 0 {
		h.ci2, h.altID = at[appClientID], true
	}
	h.gi, h.gi2 = pair(at[gID], at[gName], at[gAny])
	h.groupExport = at[bareID] >= 0 && at[bareName] >= 0 && !hasApp && at[appObjectID] < 0
	return h
}

// applicationColumns reads an application mapping's header, noting when
// it is a connector mapping's instead (headerColumns finds a connector and
// a group column, and these rules no application column).
func applicationColumns(cells []string) headerCols {
	h := appHeaderColumns(cells)
	if h.ci < 0 {
		if c := headerColumns(cells); c.ci >= 0 && c.gi >= 0 {
			h.otherKind = true
		}
	}
	return h
}

// applicationHints say why an application mapping's header row lacks a
// column, when the file shows why: "" or " (…)".
func applicationHints(cells []string, h headerCols) string {
	col := func(i int) string {
		return fmt.Sprintf("%s (%s)", plan.QuoteShort(trimCell(cells[i])), plan.ColumnName(i))
	}
	var hints []string
	if h.groupExport {
		hints = append(hints, "this looks like an export of connector groups, whose Id and Name are the group's: "+
			"add a column naming each group's application, or start from the Applications sheet of an export")
	} else {
		switch {
		case h.ci >= 0 || h.unreadID < 0:
		case h.servicePrincipals:
			hints = append(hints, fmt.Sprintf("the column %s is a service principal's id, not the application's: "+
				"read the applications by their AppId column, or export the applications themselves (Get-EntraBetaApplication)", col(h.unreadID)))
		default:
			hints = append(hints, fmt.Sprintf("the column %s is read as the application's object id only beside the application's other columns, "+
				"such as AppId or DisplayName: rename it objectId", col(h.unreadID)))
		}
		switch {
		case h.gi >= 0:
		case h.unreadNm >= 0:
			hints = append(hints, fmt.Sprintf("the column %s is not read: in an application mapping a bare Name may be the application's or the group's: "+
				"rename it connectorGroupName (or displayName, if it names the application)", col(h.unreadNm)))
		case h.ci >= 0:
			hints = append(hints, "this is a list of applications: add a column, such as connectorGroupName, naming the group each one goes to")
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}
