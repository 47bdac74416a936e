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

package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/sites"
)

// Field indexes on Tinkerbell objects, registered in SetupWithManager.
const (
	indexPublicIPFrom = ".spec.publicIPFrom"
)

// checkPolicy refuses a Tinkerbell that breaks the cluster admin's policy (package policy) before anything is
// applied or changed, and imposes its defaults: the pinned Argo CD namespace. Fixing the spec or the manager's
// flags starts a pass that gets past it.
func (r *TinkerbellReconciler) checkPolicy(_ context.Context, s *scope) error {
	if v := r.Policy.Check(s.obj); v != nil {
		return stalled(v.Reason, "%s", v.Message)
	}
	s.facts.ArgoCDNamespace = r.Policy.ArgoCDNamespaceFor(s.obj)
	return nil
}

// checkSite refuses a Tinkerbell that would share with another site of the cluster what a site owns alone (its
// target namespace, the namespaces it serves, its public IP, CRDs of its epoch; see package sites), and finds the
// site whose objects apply the CRDs for all of them. The Tinkerbells are read from the cache without copies:
// the pass only reads them.
func (r *TinkerbellReconciler) checkSite(ctx context.Context, s *scope) error {
	cached, err := r.clusterSites(ctx)
	if err != nil {
		return err
	}
	all := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(cached)+1)
	all = append(all, s.obj) // this pass's copy, fresher than the cache's
	for _, tb := range cached {
		if !sites.Same(tb, s.obj) {
			all = append(all, tb)
		}
	}
	if c := sites.Check(s.obj, all); c != nil {
		return stalled(c.Reason, "%s", c.Message)
	}
	s.facts.PrimarySite = sites.PrimaryOf(s.obj, sites.Primary(all, s.obj))
	s.obj.Status.PrimarySite = s.facts.PrimarySite
	return nil
}

// clusterSites returns every Tinkerbell of the cluster as the cache holds them, to be read and never changed.
// They come straight from the informer's store when the cache exposes it: every pass reads all of them, and a
// list would copy each one (a thousand sites, a thousand copies per pass).
func (r *TinkerbellReconciler) clusterSites(ctx context.Context) ([]*kubetinkv1alpha1.Tinkerbell, error) {
	if r.watches != nil {
		if inf, err := r.watches.cache.GetInformer(ctx, &kubetinkv1alpha1.Tinkerbell{}); err == nil {
			if st, ok := inf.(interface{ GetStore() toolscache.Store }); ok {
				items := st.GetStore().List()
				out := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(items))
				for _, o := range items {
					if tb, ok := o.(*kubetinkv1alpha1.Tinkerbell); ok {
						out = append(out, tb)
					}
				}
				return out, nil
			}
		}
	}
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("failed to list Tinkerbells: %w", err)
	}
	out := make([]*kubetinkv1alpha1.Tinkerbell, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// checkVersion refuses versions outside the catalog and downgrades that were not asked for.
func (r *TinkerbellReconciler) checkVersion(_ context.Context, s *scope) error {
	version := s.obj.Spec.Version
	if _, err := catalog.Lookup(version); err != nil {
		if _, ok := errors.AsType[*catalog.UnsupportedVersionError](err); ok {
			return stalled(kubetinkv1alpha1.UnsupportedVersionReason, "%s", err.Error())
		}
		return stalled(kubetinkv1alpha1.RenderFailedReason, "%s", err.Error())
	}
	applied := s.obj.Status.LastAppliedVersion
	if applied != "" && catalog.Compare(version, applied) < 0 && !s.obj.AllowDowngrade() {
		return stalled(kubetinkv1alpha1.DowngradeRefusedReason,
			"spec.version %s is lower than the installed %s; downgrades run no migrations, set spec.upgrade.allowDowngrade to force one",
			version, applied)
	}
	return nil
}

// gatherFacts reads the cluster state the values depend on: the Nodes' pod CIDRs (when spec.trustedProxies is
// empty) and the LoadBalancer IP of spec.publicIPFrom.
func (r *TinkerbellReconciler) gatherFacts(ctx context.Context, s *scope) error {
	if len(s.obj.Spec.TrustedProxies) == 0 {
		nodes := &corev1.NodeList{}
		if err := r.List(ctx, nodes); err != nil {
			return fmt.Errorf("failed to list Nodes: %w", err)
		}
		s.facts.NodePodCIDRs = nodePodCIDRs(nodes.Items)
	}
	if ref := s.obj.Spec.PublicIPFrom; ref != nil {
		key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = s.obj.Namespace
		}
		svc := &corev1.Service{}
		if err := r.Get(ctx, key, svc); err != nil {
			if apierrors.IsNotFound(err) {
				return waiting(kubetinkv1alpha1.PublicIPUnavailableReason, "spec.publicIPFrom: Service %s not found", key)
			}
			return fmt.Errorf("failed to get Service %s: %w", key, err)
		}
		ip := loadBalancerIPv4(svc)
		if ip == "" {
			return waiting(kubetinkv1alpha1.PublicIPUnavailableReason,
				"spec.publicIPFrom: Service %s has no LoadBalancer IPv4 address yet", key)
		}
		s.facts.LoadBalancerIP = ip
	}
	return nil
}

// nodePodCIDRs returns the pod CIDRs of all Nodes, sorted and without duplicates.
func nodePodCIDRs(nodes []corev1.Node) []string {
	var cidrs []string
	for i := range nodes {
		cidrs = append(cidrs, nodes[i].Spec.PodCIDRs...)
		if nodes[i].Spec.PodCIDR != "" {
			cidrs = append(cidrs, nodes[i].Spec.PodCIDR)
		}
	}
	slices.Sort(cidrs)
	return slices.Compact(cidrs)
}

// loadBalancerIPv4 returns the first IPv4 ingress address of a Service, or "".
func loadBalancerIPv4(svc *corev1.Service) string {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if addr, err := netip.ParseAddr(in.IP); err == nil && addr.Is4() {
			return in.IP
		}
	}
	return ""
}

// render turns the spec and the facts into the objects to apply, and records the facts used in status.
func (r *TinkerbellReconciler) render(_ context.Context, s *scope) error {
	res, err := render.Render(r.Policy.Defaulted(s.obj), s.facts)
	if err != nil {
		return stalled(kubetinkv1alpha1.RenderFailedReason, "%s", err.Error())
	}
	s.result = res
	s.obj.Status.PublicIP = res.PublicIP
	s.obj.Status.TrustedProxies = res.TrustedProxies
	return nil
}
