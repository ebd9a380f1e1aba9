package reconcile

import (
	"testing"

	"connrecon/executor"
)

func TestVerifiedLine(t *testing.T) {
	for _, tc := range []struct {
		c    executor.VerifyCounts
		want string
	}{
		{executor.VerifyCounts{Succeeded: 12, Seen: 12}, "Verified: 12 of 12 succeeded moves show in their target groups."},
		{executor.VerifyCounts{Succeeded: 1, Seen: 1}, "Verified: 1 of 1 succeeded move shows in its target group."},
		{executor.VerifyCounts{Succeeded: 12, Seen: 12, Confirmed: 2, Unknown: 1},
			"Verified: 12 of 12 succeeded moves show in their target groups; 2 moves whose answer was lost or refused were confirmed by read; 1 is still unknown: check it."},
		{executor.VerifyCounts{Succeeded: 12, Seen: 10, Confirmed: 1},
			"Verified: 10 of 12 succeeded moves show in their target groups, 2 not seen: check them; 1 move whose answer was lost or refused was confirmed by read."},
		{executor.VerifyCounts{Unknown: 1}, "Verified: 1 move of unknown fate not seen in its target group, still unknown: check it."},
		{executor.VerifyCounts{}, "Verified: 0 of 0 succeeded moves show in their target groups."},
	} {
		if got := verifiedLine(tc.c); got != tc.want {
			t.Errorf("verifiedLine(%+v)\n got  %s\n want %s", tc.c, got, tc.want)
		}
	}
}
