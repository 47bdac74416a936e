/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package sites

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
)

var epoch = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// site returns a Tinkerbell created age seconds after epoch, settled at version (installed, spec = applied).
func site(name, version string, age int, scope kubetinkv1alpha1.Scope) *kubetinkv1alpha1.Tinkerbell {
	return &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sites", Name: name, CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(age) * time.Second))},
		Spec:       kubetinkv1alpha1.TinkerbellSpec{Version: version, TargetNamespace: name, Scope: scope},
		Status: kubetinkv1alpha1.TinkerbellStatus{
			LastAppliedVersion: version,
			Inventory:          &kubetinkv1alpha1.ResourceInventory{Entries: []kubetinkv1alpha1.ResourceRef{{ID: "x", Version: "v1"}}},
		},
	}
}

// fresh makes tb a Tinkerbell that has installed nothing yet.
func fresh(tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	tb.Status = kubetinkv1alpha1.TinkerbellStatus{}
	return tb
}

// claim gives a site an existing claim for its HookOS artifacts.
func claim(tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	tb.Spec.Addons = &kubetinkv1alpha1.Addons{HookOS: &kubetinkv1alpha1.HookOSAddon{Persistence: &kubetinkv1alpha1.HookOSPersistence{ExistingClaim: "hook"}}}
	return tb
}

func TestCheck(t *testing.T) {
	ns := kubetinkv1alpha1.ScopeNamespace
	cluster := kubetinkv1alpha1.ScopeCluster
	managedOff := func(tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
		off := false
		tb.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: &off}
		return tb
	}
	withIP := func(tb *kubetinkv1alpha1.Tinkerbell, ip string) *kubetinkv1alpha1.Tinkerbell {
		tb.Spec.PublicIP = kubetinkv1alpha1.IPv4Address(ip)
		return tb
	}
	sameNS := func(tb *kubetinkv1alpha1.Tinkerbell, target string) *kubetinkv1alpha1.Tinkerbell {
		tb.Spec.TargetNamespace = target
		return tb
	}
	moving := func(tb *kubetinkv1alpha1.Tinkerbell, to string) *kubetinkv1alpha1.Tinkerbell {
		tb.Spec.Version = to
		return tb
	}
	for _, tc := range []struct {
		name   string
		obj    *kubetinkv1alpha1.Tinkerbell
		others []*kubetinkv1alpha1.Tinkerbell
		// reason is the Conflict's reason, "" for none; words must appear in its message.
		reason string
		words  []string
	}{
		{name: "alone, every namespace", obj: site("a", "v0.25.0", 0, "")},
		{name: "two namespaced sites", obj: site("b", "v0.25.0", 1, ns), others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.24.0", 0, ns)}},
		{name: "two legacy sites are namespaced by default", obj: claim(site("b", "0.6.2", 1, "")), others: []*kubetinkv1alpha1.Tinkerbell{site("a", "0.6.2", 0, "")}},
		{
			name: "two legacy sites with the chart's HookOS volume", obj: site("b", "0.6.2", 1, ""),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "0.6.2", 0, "")},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"sites/a", "hook-artifacts", "existingClaim"},
		},
		{
			name: "a namespaced site beside one serving every namespace", obj: site("b", "v0.25.0", 1, ns),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.25.0", 0, "")},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"sites/a serves every namespace", `"b"`, "spec.scope Namespace"},
		},
		{
			name: "the first site keeps every namespace", obj: site("a", "v0.25.0", 0, cluster),
			others: []*kubetinkv1alpha1.Tinkerbell{fresh(site("b", "v0.25.0", 1, ns))},
		},
		{
			name: "a site serving every namespace beside a namespaced one", obj: fresh(site("b", "v0.25.0", 0, cluster)),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.25.0", 1, ns)},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"would serve every namespace", `"a"`, "sites/a"},
		},
		{
			name: "the same target namespace", obj: sameNS(site("b", "v0.25.0", 1, ns), "a"),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.25.0", 0, ns)},
			reason: kubetinkv1alpha1.NamespaceConflictReason, words: []string{`"a"`, "sites/a"},
		},
		{
			name: "the same public IP", obj: withIP(site("b", "v0.25.0", 1, ns), "10.0.0.1"),
			others: []*kubetinkv1alpha1.Tinkerbell{withIP(site("a", "v0.25.0", 0, ns), "10.0.0.1")},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"10.0.0.1", "sites/a"},
		},
		{
			name: "a binary applying its own CRDs beside another site", obj: managedOff(site("b", "v0.25.0", 1, ns)),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.25.0", 0, ns)},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"spec.crds.managed false", "sites/a"},
		},
		{name: "a legacy chart installs CRDs once", obj: managedOff(claim(site("b", "0.6.2", 1, ""))), others: []*kubetinkv1alpha1.Tinkerbell{site("a", "0.6.2", 0, "")}},
		{
			name: "sites of two CRD epochs: the one moving is refused", obj: moving(site("a", "v0.19.0", 0, ns), "v0.25.0"),
			others: []*kubetinkv1alpha1.Tinkerbell{site("b", "v0.19.3", 1, ns)},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"v0.25.0", "v0.19.3", "sites/b", "v0.20.0"},
		},
		{
			name: "the settled site of two CRD epochs stays", obj: site("b", "v0.19.3", 1, ns),
			others: []*kubetinkv1alpha1.Tinkerbell{moving(site("a", "v0.19.0", 0, ns), "v0.25.0")},
		},
		{
			name: "a legacy site beside a unified one", obj: fresh(site("b", "0.6.2", 1, "")),
			others: []*kubetinkv1alpha1.Tinkerbell{site("a", "v0.25.0", 0, ns)},
			reason: kubetinkv1alpha1.SiteConflictReason, words: []string{"0.6.2", "v0.17.0"},
		},
		{name: "within one CRD epoch", obj: moving(site("a", "v0.20.0", 0, ns), "v0.25.0"), others: []*kubetinkv1alpha1.Tinkerbell{site("b", "v0.21.0", 1, ns)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := append([]*kubetinkv1alpha1.Tinkerbell{tc.obj}, tc.others...)
			c := Check(tc.obj, all)
			switch {
			case tc.reason == "" && c != nil:
				t.Fatalf("got conflict %s: %s", c.Reason, c.Message)
			case tc.reason == "":
				return
			case c == nil:
				t.Fatalf("got no conflict, want %s", tc.reason)
			case c.Reason != tc.reason:
				t.Errorf("reason %s, want %s (%s)", c.Reason, tc.reason, c.Message)
			}
			for _, w := range tc.words {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q does not mention %q", c.Message, w)
				}
			}
		})
	}
}

func TestPrimary(t *testing.T) {
	a, b, c := site("a", "v0.24.0", 0, ""), site("b", "v0.25.0", 1, ""), site("c", "v0.25.0", 2, "")
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{a, c, b}, nil); got != b {
		t.Errorf("provider %s, want the newest release, first among equals (sites/b)", Key(got))
	}
	off := false
	b.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: &off}
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{a, b, c}, nil); got != c {
		t.Errorf("provider %s, want sites/c: sites/b does not let Kubetink manage CRDs", Key(got))
	}
	now := metav1.Now()
	c.DeletionTimestamp = &now
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{a, b, c}, nil); got != a {
		t.Errorf("provider %s, want sites/a: sites/c is being deleted", Key(got))
	}
	a.Status.Conditions = []metav1.Condition{{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: kubetinkv1alpha1.SiteConflictReason}}
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{a, b, c}, nil); got != nil {
		t.Errorf("provider %s, want none: the only candidate is refused", Key(got))
	}
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{a, b, c}, a); got != a {
		t.Errorf("provider %s, want sites/a: it has just passed the site check, whatever its status says", Key(got))
	}
	// Among equal releases the oldest, whatever the sites have installed or believe: the choice must not move
	// as they reconcile.
	p, q := fresh(site("p", "v0.25.0", 0, "")), site("q", "v0.25.0", 5, "")
	q.Status.PrimarySite = ""
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{q, p}, nil); got != p {
		t.Errorf("primary %s, want sites/p: the older one, though it has installed nothing yet", Key(got))
	}
	if got := Primary([]*kubetinkv1alpha1.Tinkerbell{site("x", "v9.9.9", 0, "")}, nil); got != nil {
		t.Errorf("provider %s, want none for a version outside the catalog", Key(got))
	}
}

func TestCRDBoundariesSplitTheCatalogIntoEpochs(t *testing.T) {
	// The registry's pre-upgrade migrations mark where the CRDs drop fields (Workflow status at v0.19.0 and
	// v0.20.0, Rufio Job machineRef at v0.17.0); within an epoch the real CRDs only gain fields
	// (test/charts TestCRDsAdditiveWithinEpochs checks that against upstream's CRDs).
	got := migration.CRDBoundaries()
	if want := []string{"v0.17.0", "v0.19.0", "v0.20.0"}; !slices.Equal(got, want) {
		t.Errorf("CRDBoundaries() = %v, want %v", got, want)
	}
	for _, tc := range []struct{ a, b, want string }{
		{"v0.20.0", "v0.25.0", ""}, {"v0.25.0", "v0.20.0", ""}, {"v0.19.0", "v0.19.3", ""},
		{"v0.19.3", "v0.20.0", "v0.20.0"}, {"0.6.2", "v0.19.0", "v0.17.0"}, {"v0.25.0", "v0.19.0", "v0.20.0"},
	} {
		if got := epochBoundary(tc.a, tc.b); got != tc.want {
			t.Errorf("epochBoundary(%s, %s) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBefore(t *testing.T) {
	older, newer := fresh(site("b", "v0.25.0", 0, "")), fresh(site("a", "v0.25.0", 1, ""))
	if !Before(older, newer) || Before(newer, older) {
		t.Error("the older Tinkerbell comes first")
	}
	same := fresh(site("a", "v0.25.0", 0, ""))
	if Before(older, same) || !Before(same, older) {
		t.Error("created in the same second: by namespace/name")
	}
	installed := site("z", "v0.25.0", 5, "")
	if !Before(installed, older) {
		t.Error("one that installed something keeps what it has, however young")
	}
}
