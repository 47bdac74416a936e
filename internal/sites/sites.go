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

// Package sites decides how the Tinkerbell objects of one cluster (its sites) share it. It is pure: the
// controller passes the Tinkerbells it reads from its cache, "kubetink render" those of a file.
//
// The model:
//   - A site serves every namespace (spec.scope Cluster, the unified chart's default) or only its target
//     namespace (spec.scope Namespace; always on the legacy stack chart). A site serving every namespace is
//     alone in its cluster.
//   - What a site owns alone: its target namespace, the namespaces it serves, its spec.publicIP.
//   - What is cluster-wide runs once, in the primary site: the one with the newest release (see Primary). It
//     applies the CRDs, and on the unified chart it also runs the Tink controller and Rufio, which the unified
//     binary cannot restrict to a namespace (v0.19.0 to v0.25.0 pass them no namespace; only Smee, Tootles and
//     the Tink server take TINKERBELL_BACKEND_KUBE_NAMESPACE), so they serve every site's Workflows and BMC
//     Jobs. Every site therefore runs on CRDs of a release at least as new as its own. That is safe within one CRD epoch,
//     a range of releases between which the CRDs only gain fields; a release whose CRDs prune a field (marked
//     by a pre-upgrade migration in the registry) starts a new epoch, and sites of two epochs cannot share a
//     cluster.
//
// When two sites want the same thing, the one that was there first keeps it (Before) and the other is refused
// with a Conflict naming both.
package sites

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/migration"
)

// Conflict is why a Tinkerbell cannot run beside another one of its cluster.
type Conflict struct {
	// Reason is the condition reason: NamespaceConflict or SiteConflict.
	Reason string
	// Message names both Tinkerbells and what the user can change.
	Message string
}

// Check returns the first conflict of obj with the other Tinkerbells of its cluster, or nil. others may
// include obj itself, which is skipped.
func Check(obj *kubetinkv1alpha1.Tinkerbell, others []*kubetinkv1alpha1.Tinkerbell) *Conflict {
	for _, other := range others {
		if Same(obj, other) {
			continue
		}
		if c := check(obj, other); c != nil {
			return c
		}
	}
	return nil
}

// check returns the conflict that refuses obj because of other, if any.
func check(obj, other *kubetinkv1alpha1.Tinkerbell) *Conflict {
	first := Before(other, obj)
	switch {
	case first && obj.GetTargetNamespace() == other.GetTargetNamespace():
		return &Conflict{Reason: kubetinkv1alpha1.NamespaceConflictReason, Message: fmt.Sprintf(
			"target namespace %q is already used by Tinkerbell %s; give this one another spec.targetNamespace",
			obj.GetTargetNamespace(), Key(other))}
	case first && other.ServesAllNamespaces():
		return siteConflict("Tinkerbell %s serves every namespace, including %q that this one would serve; give Tinkerbell %s spec.scope Namespace",
			Key(other), obj.GetTargetNamespace(), Key(other))
	case first && obj.ServesAllNamespaces():
		return siteConflict("this Tinkerbell would serve every namespace, including %q that Tinkerbell %s serves; set spec.scope Namespace",
			other.GetTargetNamespace(), Key(other))
	case first && obj.Spec.PublicIP != "" && obj.Spec.PublicIP == other.Spec.PublicIP:
		return siteConflict("spec.publicIP %s is already the address of Tinkerbell %s; give each site its own", obj.Spec.PublicIP, Key(other))
	case first && fixedVolume(obj) && fixedVolume(other):
		return siteConflict("Tinkerbell %s runs its chart's HookOS volume too, and the charts of %s and %s name its claim hook-artifacts whatever the values say: give this one spec.addons.hookOS.persistence.existingClaim, or turn its HookOS off",
			Key(other), obj.Spec.Version, other.Spec.Version)
	case first && binaryAppliesCRDs(obj):
		return siteConflict("spec.crds.managed false makes this Tinkerbell's binary apply its own CRDs at every start, over the CRDs of Tinkerbell %s; let Kubetink manage the CRDs when a cluster has several sites",
			Key(other))
	case first && binaryAppliesCRDs(other):
		return siteConflict("Tinkerbell %s has spec.crds.managed false, so its binary applies its own CRDs at every start, over this one's; let Kubetink manage its CRDs",
			Key(other))
	}
	if b := epochBoundary(obj.Spec.Version, other.Spec.Version); b != "" && refusedFirst(obj, other) {
		return siteConflict("spec.version %s and the %s of Tinkerbell %s are on either side of %s, whose CRDs drop fields the older release uses; the CRDs are shared by the cluster, so its sites cannot straddle it",
			obj.Spec.Version, other.Spec.Version, Key(other), b)
	}
	return nil
}

func siteConflict(format string, args ...any) *Conflict {
	return &Conflict{Reason: kubetinkv1alpha1.SiteConflictReason, Message: fmt.Sprintf(format, args...)}
}

// refusedFirst says which of two sites on either side of a CRD epoch boundary is refused: the one moving to its
// spec.version (created, or changing version), since the other runs on the CRDs the cluster has; between two
// that both move or both stay, the later one.
func refusedFirst(obj, other *kubetinkv1alpha1.Tinkerbell) bool {
	objMoves, otherMoves := moving(obj), moving(other)
	if objMoves != otherMoves {
		return objMoves
	}
	return Before(other, obj)
}

func moving(tb *kubetinkv1alpha1.Tinkerbell) bool {
	return tb.Status.LastAppliedVersion != tb.Spec.Version
}

// fixedVolume reports whether tb runs its chart's own HookOS volume under the chart's fixed name
// (catalog.Release.FixedHookOSClaim).
func fixedVolume(tb *kubetinkv1alpha1.Tinkerbell) bool {
	rel, err := catalog.Lookup(tb.Spec.Version)
	return err == nil && rel.FixedHookOSClaim() && tb.Spec.Addons.HookOSEnabled() && tb.Spec.Addons.HookOSExistingClaim() == ""
}

// binaryAppliesCRDs reports whether the stack's own binary applies CRDs: the unified chart's CRD migration,
// on when Kubetink does not manage the CRDs. The legacy chart's Helm installs them once and never again.
func binaryAppliesCRDs(tb *kubetinkv1alpha1.Tinkerbell) bool {
	return !tb.CRDsManaged() && !tb.IsLegacyStack()
}

// epochBoundary returns the first release of a CRD epoch that lies between versions a and b (exclusive of the
// older one), or "" when both are in the same epoch. A CRD epoch ends at every pre-upgrade migration that saves
// what the next CRDs prune (migration.CRDBoundaries). Versions the catalog does not know are left to the
// version check.
func epochBoundary(a, b string) string {
	if a == b {
		return "" // the common case, and every pass checks every pair: no look-up
	}
	if _, err := catalog.Lookup(a); err != nil {
		return ""
	}
	if _, err := catalog.Lookup(b); err != nil {
		return ""
	}
	if catalog.Compare(a, b) > 0 {
		a, b = b, a
	}
	for _, boundary := range migration.CRDBoundaries() {
		if catalog.Compare(a, boundary) < 0 && catalog.Compare(boundary, b) <= 0 {
			return boundary
		}
	}
	return ""
}

// Primary returns the cluster's primary site: the Tinkerbell whose generated objects apply the cluster's
// Tinkerbell CRDs and, on the unified chart, run the Tink controller and Rufio for every site. Among those
// that let Kubetink manage the CRDs, are not being deleted, and are not refused for a conflict with another
// site, the one with the newest spec.version; among equals the oldest (olderFirst). It returns nil when none
// does.
// checked, when not nil, is one of all that has just passed Check: its status may still say it was refused.
func Primary(all []*kubetinkv1alpha1.Tinkerbell, checked *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	var best *kubetinkv1alpha1.Tinkerbell
	for _, tb := range all {
		refused := Refused(tb) && (checked == nil || !Same(tb, checked))
		if !tb.CRDsManaged() || !tb.DeletionTimestamp.IsZero() || refused {
			continue
		}
		if best != nil && tb.Spec.Version == best.Spec.Version {
			// Looked up already, and equal: every pass weighs every site, so skip the version arithmetic.
			if olderFirst(tb, best) {
				best = tb
			}
			continue
		}
		if _, err := catalog.Lookup(tb.Spec.Version); err != nil {
			continue
		}
		if best == nil {
			best = tb
			continue
		}
		if c := catalog.Compare(tb.Spec.Version, best.Spec.Version); c > 0 || (c == 0 && olderFirst(tb, best)) {
			best = tb
		}
	}
	return best
}

// olderFirst orders two sites of the same release for the primary's place by what never changes: the older
// one (timestamps have one-second resolution), ties broken by namespace/name. What a site has installed, or
// believes, changes as the sites reconcile; ordering by it made two sites name each other the primary.
func olderFirst(a, b *kubetinkv1alpha1.Tinkerbell) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return Key(a) < Key(b)
}

// PrimaryOf is what tb records as its primary site (status.primarySite, values.Facts.PrimarySite), given the
// cluster's primary: its key when that is another Tinkerbell and tb lets Kubetink manage the CRDs, else "".
func PrimaryOf(tb, primary *kubetinkv1alpha1.Tinkerbell) string {
	if primary == nil || Same(primary, tb) || !tb.CRDsManaged() {
		return ""
	}
	return Key(primary)
}

// Refused reports whether tb's status says it was refused for a conflict with another site.
func Refused(tb *kubetinkv1alpha1.Tinkerbell) bool {
	c := apimeta.FindStatusCondition(tb.Status.Conditions, meta.StalledCondition)
	return c != nil && c.Status == metav1.ConditionTrue &&
		(c.Reason == kubetinkv1alpha1.SiteConflictReason || c.Reason == kubetinkv1alpha1.NamespaceConflictReason)
}

// Before orders two Tinkerbells that want the same thing: one that has installed something keeps it; otherwise
// the older one (timestamps have one-second resolution), ties broken by namespace/name.
func Before(a, b *kubetinkv1alpha1.Tinkerbell) bool {
	if ai, bi := installed(a), installed(b); ai != bi {
		return ai
	}
	return olderFirst(a, b)
}

func installed(tb *kubetinkv1alpha1.Tinkerbell) bool {
	return tb.Status.Inventory != nil && len(tb.Status.Inventory.Entries) > 0
}

// Same reports whether a and b are the same Tinkerbell.
func Same(a, b *kubetinkv1alpha1.Tinkerbell) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name
}

// Key is namespace/name.
func Key(tb *kubetinkv1alpha1.Tinkerbell) string {
	return tb.Namespace + "/" + tb.Name
}
