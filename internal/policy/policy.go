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

// Package policy holds the cluster admin's limits on what a Tinkerbell object may make Kubetink generate: which
// chart URLs and CRD sources it may name, which namespaces it may install into, which scope its stack may serve,
// and which Argo CD namespace and projects its Applications may use. The manager ("kubetink manager") and
// "kubetink render" take the same flags and call Check with them, so a pull-request check agrees with the
// cluster; config/policy repeats the rules that can be checked at admission. It is pure: no client.
//
// Every setting left empty allows everything, so a default install is unrestricted.
//
// URL prefixes. A URL is allowed by a prefix when both parse as absolute URLs, their schemes are equal, their
// hosts (with the port, if any) are equal ignoring case, and the URL's path is the prefix's path or below it: the
// prefix oci://registry.example.com/charts allows oci://registry.example.com/charts and
// oci://registry.example.com/charts/tinkerbell, but neither oci://registry.example.com/charts-evil nor
// oci://registry.example.com.evil.io/charts. A user name in either URL is ignored. The comparison fails closed:
// a URL with a query, a fragment, a percent-escape, a backslash, or an empty, "." or ".." segment in its path is
// allowed by no prefix, and an equivalent spelling (a default port written out, a trailing dot in the host) does
// not match.
//
// Namespace patterns. A pattern is a namespace name, or a prefix followed by one "*" that matches any rest:
// "tinkerbell-*" allows tinkerbell-a and tinkerbell-site-2, "*" allows every namespace. A kube- namespace is
// never allowed, whatever the patterns.
//
// Explicit values are always checked, even where the spec does not use them (spec.argoCD on a Flux Tinkerbell,
// spec.crds.source with spec.crds.managed false), so switching the engine or the CRD management later never
// meets a refusal the spec already carried. Defaults (the catalog's chart URL and CRD source for spec.version,
// the Argo CD project "default") are checked where they are used.
package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// The names of the settings: the manager's and "kubetink render"'s flags without their dashes, and the keys of
// the kubetink-policy ConfigMap that config/policy reads at admission. Violation messages name them.
const (
	KeyChartURLPrefixes  = "allowed-chart-url-prefixes"
	KeyCRDSourcePrefixes = "allowed-crd-source-prefixes"
	KeyTargetNamespaces  = "allowed-target-namespaces"
	KeyScopes            = "allowed-scopes"
	KeyArgoCDNamespace   = "argocd-namespace"
	KeyArgoCDProjects    = "argocd-allowed-projects"
	// KeyDefaultServiceAccount is a default rather than a limit: admission has no ConfigMap key for it.
	KeyDefaultServiceAccount = "default-service-account"
)

// Settings are the cluster admin's limits. An empty setting allows everything.
type Settings struct {
	// ChartURLPrefixes are the URL prefixes the effective chart URL must be under (--allowed-chart-url-prefixes).
	ChartURLPrefixes []string
	// CRDSourcePrefixes are the URL prefixes the effective CRD source URL must be under
	// (--allowed-crd-source-prefixes).
	CRDSourcePrefixes []string
	// TargetNamespaces are the names or patterns spec.targetNamespace must match (--allowed-target-namespaces).
	TargetNamespaces []string
	// Scopes are the scopes a stack may serve (--allowed-scopes): Cluster, Namespace. A stack that serves every
	// namespace runs Tinkerbell's controllers, and binds its migration Jobs, with rights in every namespace.
	Scopes []kubetinkv1alpha1.Scope
	// ArgoCDNamespace is where every Application goes (--argocd-namespace): a Tinkerbell that sets another
	// spec.argoCD.namespace is refused, one that sets none uses it.
	ArgoCDNamespace string
	// ArgoCDProjects are the Argo CD projects spec.argoCD.project (default "default") must be one of
	// (--argocd-allowed-projects).
	ArgoCDProjects []string
	// DefaultServiceAccount is the ServiceAccount, in a Tinkerbell's namespace, that the Flux controllers
	// impersonate for a Tinkerbell that names none in spec.serviceAccountName (--default-service-account, with
	// the meaning of the Flux controllers' flag of that name). Empty: none.
	DefaultServiceAccount string
}

// Violation is why a Tinkerbell breaks the policy: Reason is one of the API's *NotAllowedReason constants and
// Message names the field, its value and what the policy allows.
type Violation struct {
	Reason  string
	Message string
}

// namespacePattern is a namespace name, optionally ending in one "*".
var namespacePattern = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?|[a-z0-9][-a-z0-9]*\*|\*)$`)

// projectName is an Argo CD project or ServiceAccount name: a DNS subdomain.
var projectName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// Validate reports the first setting that is malformed: a prefix that is not an absolute URL with a host and a
// clean path, a namespace pattern other than a name with an optional trailing "*", an Argo CD namespace or
// project that is not a valid name.
func (s Settings) Validate() error {
	for _, list := range []struct {
		key      string
		prefixes []string
	}{{KeyChartURLPrefixes, s.ChartURLPrefixes}, {KeyCRDSourcePrefixes, s.CRDSourcePrefixes}} {
		for _, p := range list.prefixes {
			if _, err := parse(p); err != nil {
				return fmt.Errorf("%s: %q %w", list.key, p, err)
			}
		}
	}
	for _, p := range s.TargetNamespaces {
		if !namespacePattern.MatchString(p) || len(strings.TrimSuffix(p, "*")) > 63 {
			return fmt.Errorf("%s: %q is neither a namespace name nor a name prefix followed by *", KeyTargetNamespaces, p)
		}
	}
	for _, sc := range s.Scopes {
		if sc != kubetinkv1alpha1.ScopeCluster && sc != kubetinkv1alpha1.ScopeNamespace {
			return fmt.Errorf("%s: %q is neither %s nor %s", KeyScopes, sc, kubetinkv1alpha1.ScopeCluster, kubetinkv1alpha1.ScopeNamespace)
		}
	}
	if ns := s.ArgoCDNamespace; ns != "" && (!namespacePattern.MatchString(ns) || strings.Contains(ns, "*") || len(ns) > 63) {
		return fmt.Errorf("%s: %q is not a namespace name", KeyArgoCDNamespace, ns)
	}
	for _, p := range s.ArgoCDProjects {
		if !projectName.MatchString(p) || len(p) > 253 {
			return fmt.Errorf("%s: %q is not an Argo CD project name", KeyArgoCDProjects, p)
		}
	}
	// A ServiceAccount name is a DNS subdomain, as spec.serviceAccountName's pattern says.
	if sa := s.DefaultServiceAccount; sa != "" && (!projectName.MatchString(sa) || len(sa) > 253) {
		return fmt.Errorf("%s: %q is not a ServiceAccount name", KeyDefaultServiceAccount, sa)
	}
	return nil
}

// Defaulted returns obj as the manager renders it: with the admin's defaults filled in where the spec leaves
// them empty (spec.serviceAccountName from DefaultServiceAccount). It returns a copy when a default applies and
// obj itself otherwise; the status is never written from the copy, so a default shows in the generated objects
// only, and changing the flag changes them in place on the next pass. "kubetink render" calls it too, so that it
// prints what the cluster gets.
func (s Settings) Defaulted(obj *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	if obj.Spec.ServiceAccountName != "" || s.DefaultServiceAccount == "" {
		return obj
	}
	out := obj.DeepCopy()
	out.Spec.ServiceAccountName = s.DefaultServiceAccount
	return out
}

// ArgoCDNamespaceFor returns the namespace obj's Applications go to: the pinned ArgoCDNamespace when set, else
// spec.argoCD.namespace or its default. Every reader of the Argo CD namespace (rendering, retiring Applications
// left in another namespace) uses this one value.
func (s Settings) ArgoCDNamespaceFor(obj *kubetinkv1alpha1.Tinkerbell) string {
	if s.ArgoCDNamespace != "" {
		return s.ArgoCDNamespace
	}
	return obj.GetArgoCDNamespace()
}

// Check returns the first rule obj breaks, or nil. The rules are checked in this order: the target namespace,
// the scope, the chart URL, the CRD source, the Argo CD namespace, the Argo CD project. A spec.version outside the catalog
// has no default URLs to check: only the explicit ones are, and the caller refuses the version itself.
func (s Settings) Check(obj *kubetinkv1alpha1.Tinkerbell) *Violation {
	spec := &obj.Spec
	rel, err := catalog.Lookup(spec.Version)
	known := err == nil

	if v := s.checkTargetNamespace(obj.GetTargetNamespace()); v != nil {
		return v
	}
	if v := s.checkScope(obj); v != nil {
		return v
	}

	if spec.Chart != nil && spec.Chart.URL != "" {
		if !allowedURL(spec.Chart.URL, s.ChartURLPrefixes) {
			return urlViolation(kubetinkv1alpha1.ChartURLNotAllowedReason, KeyChartURLPrefixes,
				fmt.Sprintf("spec.chart.url %q", spec.Chart.URL), "", s.ChartURLPrefixes)
		}
	} else if known && !allowedURL(rel.ChartURL, s.ChartURLPrefixes) {
		return urlViolation(kubetinkv1alpha1.ChartURLNotAllowedReason, KeyChartURLPrefixes,
			fmt.Sprintf("the chart URL of %s, %q,", spec.Version, rel.ChartURL), "set spec.chart.url to one ", s.ChartURLPrefixes)
	}

	if spec.CRDs != nil && spec.CRDs.Source != nil && spec.CRDs.Source.URL != "" {
		if !allowedURL(spec.CRDs.Source.URL, s.CRDSourcePrefixes) {
			return urlViolation(kubetinkv1alpha1.CRDSourceNotAllowedReason, KeyCRDSourcePrefixes,
				fmt.Sprintf("spec.crds.source.url %q", spec.CRDs.Source.URL), "", s.CRDSourcePrefixes)
		}
	} else if known && obj.CRDsManaged() && !allowedURL(rel.CRDs.URL, s.CRDSourcePrefixes) {
		return urlViolation(kubetinkv1alpha1.CRDSourceNotAllowedReason, KeyCRDSourcePrefixes,
			fmt.Sprintf("the CRD source of %s, %q,", spec.Version, rel.CRDs.URL), "set spec.crds.source.url to one ", s.CRDSourcePrefixes)
	}

	argo := spec.ArgoCD
	if argo != nil && argo.Namespace != "" {
		switch {
		case strings.HasPrefix(argo.Namespace, "kube-"):
			return &Violation{Reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason,
				Message: fmt.Sprintf("spec.argoCD.namespace %q is not allowed: the kube- namespaces belong to the cluster", argo.Namespace)}
		case s.ArgoCDNamespace != "" && argo.Namespace != s.ArgoCDNamespace:
			return &Violation{Reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason,
				Message: fmt.Sprintf("spec.argoCD.namespace %q is not allowed by the cluster admin's %s: remove it, or set it to %s",
					argo.Namespace, KeyArgoCDNamespace, s.ArgoCDNamespace)}
		}
	}

	if len(s.ArgoCDProjects) > 0 {
		if argo != nil && argo.Project != "" {
			if !slices.Contains(s.ArgoCDProjects, argo.Project) {
				return &Violation{Reason: kubetinkv1alpha1.ArgoCDProjectNotAllowedReason,
					Message: fmt.Sprintf("spec.argoCD.project %q is not allowed by the cluster admin's %s: use one of %s",
						argo.Project, KeyArgoCDProjects, strings.Join(s.ArgoCDProjects, ", "))}
			}
		} else if obj.GetEngine() == kubetinkv1alpha1.EngineArgoCD && !slices.Contains(s.ArgoCDProjects, obj.GetArgoCDProject()) {
			return &Violation{Reason: kubetinkv1alpha1.ArgoCDProjectNotAllowedReason,
				Message: fmt.Sprintf("the default Argo CD project %q is not allowed by the cluster admin's %s: set spec.argoCD.project to one of %s",
					obj.GetArgoCDProject(), KeyArgoCDProjects, strings.Join(s.ArgoCDProjects, ", "))}
		}
	}
	return nil
}

// checkScope refuses a scope, explicit or the chart's default, that Scopes does not list.
func (s Settings) checkScope(obj *kubetinkv1alpha1.Tinkerbell) *Violation {
	scope := kubetinkv1alpha1.ScopeNamespace
	if obj.ServesAllNamespaces() {
		scope = kubetinkv1alpha1.ScopeCluster
	}
	if len(s.Scopes) == 0 || slices.Contains(s.Scopes, scope) {
		return nil
	}
	allowed := make([]string, len(s.Scopes))
	for i, sc := range s.Scopes {
		allowed[i] = string(sc)
	}
	what := fmt.Sprintf("spec.scope %q", scope)
	if obj.Spec.Scope == "" {
		what = fmt.Sprintf("the chart's default scope, %q,", scope)
	}
	return &Violation{Reason: kubetinkv1alpha1.ScopeNotAllowedReason,
		Message: fmt.Sprintf("%s is not allowed by the cluster admin's %s: set spec.scope to %s", what, KeyScopes, strings.Join(allowed, " or "))}
}

// checkTargetNamespace refuses a kube- namespace always, and a namespace no pattern matches.
func (s Settings) checkTargetNamespace(ns string) *Violation {
	if strings.HasPrefix(ns, "kube-") {
		return &Violation{Reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason,
			Message: fmt.Sprintf("spec.targetNamespace %q is not allowed: the kube- namespaces belong to the cluster", ns)}
	}
	if len(s.TargetNamespaces) == 0 || slices.ContainsFunc(s.TargetNamespaces, func(p string) bool { return MatchNamespace(p, ns) }) {
		return nil
	}
	return &Violation{Reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason,
		Message: fmt.Sprintf("spec.targetNamespace %q is not allowed by the cluster admin's %s: use one matching %s",
			ns, KeyTargetNamespaces, strings.Join(s.TargetNamespaces, ", "))}
}

// urlViolation words a URL refusal: what is refused (the field and its value, or the default), then the fix.
func urlViolation(reason, key, what, fix string, prefixes []string) *Violation {
	if fix == "" {
		fix = "use one "
	}
	return &Violation{Reason: reason, Message: fmt.Sprintf("%s is not allowed by the cluster admin's %s: %sunder %s",
		what, key, fix, strings.Join(prefixes, ", "))}
}

// MatchNamespace reports whether the namespace ns matches pattern: equal to it, or, when pattern ends in "*",
// starting with what precedes the "*".
func MatchNamespace(pattern, ns string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(ns, prefix)
	}
	return ns == pattern
}

// allowedURL reports whether u is under one of prefixes; no prefixes allow everything.
func allowedURL(u string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	return slices.ContainsFunc(prefixes, func(p string) bool { return Under(u, p) })
}

// Under reports whether the URL u is under the URL prefix (see the package documentation for the rule).
func Under(u, prefix string) bool {
	pu, err := parse(prefix)
	if err != nil {
		return false
	}
	vu, err := parse(u)
	if err != nil {
		return false
	}
	if vu.Scheme != pu.Scheme || !strings.EqualFold(vu.Host, pu.Host) {
		return false
	}
	// The prefix's path ends at a segment boundary: "/charts" allows "/charts" and "/charts/x", not "/charts-x".
	dir := pu.Path
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return strings.HasPrefix(vu.Path+"/", dir)
}

// parse reads an absolute URL with a host and a clean path: no query, fragment, percent-escape, backslash, or
// empty, "." or ".." segment (a trailing "/" is allowed). Such spellings may mean another path to the server
// than they seem to, so they match nothing.
func parse(s string) (*url.URL, error) {
	if strings.ContainsAny(s, `%\?#`) {
		return nil, fmt.Errorf("has a percent-escape, a backslash, a query or a fragment")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("is not a URL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("is not an absolute URL with a host, such as oci://registry.example.com/charts")
	}
	if u.Path != "" {
		segments := strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/"), "/")
		if u.Path != "/" && slices.ContainsFunc(segments, func(seg string) bool { return seg == "" || seg == "." || seg == ".." }) {
			return nil, fmt.Errorf("has an empty, . or .. path segment")
		}
	}
	return u, nil
}
