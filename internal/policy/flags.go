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

package policy

import (
	"strings"

	"github.com/spf13/pflag"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// BindFlags adds the cluster admin's policy flags, shared by "kubetink manager" and "kubetink render" so that a
// pull-request check refuses what the cluster would. Their names are the keys of the kubetink-policy ConfigMap
// that config/policy reads at admission. Unset means no restriction.
func (s *Settings) BindFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&s.ChartURLPrefixes, KeyChartURLPrefixes, nil,
		"URL prefixes the chart URL (spec.chart.url, or the release's default) must be under, such as oci://registry.example.com/charts: same scheme and host, and a path at or below the prefix's; repeatable or comma-separated. Unset allows every URL.")
	fs.StringSliceVar(&s.CRDSourcePrefixes, KeyCRDSourcePrefixes, nil,
		"URL prefixes the CRD source (spec.crds.source.url, or the release's default) must be under, compared as for --"+KeyChartURLPrefixes+"; repeatable or comma-separated. Unset allows every URL.")
	fs.StringSliceVar(&s.TargetNamespaces, KeyTargetNamespaces, nil,
		"Namespaces spec.targetNamespace may be: names, or a prefix ending in * such as tinkerbell-*; repeatable or comma-separated. kube- namespaces are never allowed. Unset allows every other namespace.")
	fs.Var(scopesValue{&s.Scopes}, KeyScopes,
		"Scopes a Tinkerbell's stack may serve (spec.scope, or the chart's default: Cluster on the unified chart): Cluster, Namespace; repeatable or comma-separated. A stack serving every namespace holds rights in every namespace. Unset allows both.")
	fs.StringVar(&s.ArgoCDNamespace, KeyArgoCDNamespace, "",
		"Namespace every Argo CD Application is created in; a Tinkerbell with another spec.argoCD.namespace is refused. Unset: spec.argoCD.namespace, default argocd.")
	fs.StringVar(&s.DefaultServiceAccount, KeyDefaultServiceAccount, "",
		"ServiceAccount, in a Tinkerbell's namespace, that the Flux controllers impersonate for a Tinkerbell without spec.serviceAccountName (written to its HelmRelease and Kustomizations); empty means none. Set it to the Flux controllers' own --default-service-account. Not used with spec.engine ArgoCD.")
	fs.StringSliceVar(&s.ArgoCDProjects, KeyArgoCDProjects, nil,
		"Argo CD projects spec.argoCD.project (default \"default\") may name; repeatable or comma-separated. Unset allows every project.")
}

// scopesValue is --allowed-scopes: a list of scopes, repeatable or comma-separated, as a string slice flag is.
type scopesValue struct{ scopes *[]kubetinkv1alpha1.Scope }

func (v scopesValue) String() string {
	out := make([]string, len(*v.scopes))
	for i, s := range *v.scopes {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}

func (v scopesValue) Set(value string) error {
	for s := range strings.SplitSeq(value, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*v.scopes = append(*v.scopes, kubetinkv1alpha1.Scope(s))
		}
	}
	return nil
}

func (v scopesValue) Type() string { return "strings" }
