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

package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// DefaultTargetNamespace is where the services run when spec.targetNamespace is empty.
	DefaultTargetNamespace = "tinkerbell"
	// DefaultInterval is the fallback reconciliation interval.
	DefaultInterval = 10 * time.Minute
	// DefaultArgoCDNamespace is where Argo CD Applications are created when spec.argoCD.namespace is empty.
	DefaultArgoCDNamespace = "argocd"
	// DefaultArgoCDProject is the Argo CD project of the Applications when spec.argoCD.project is empty.
	DefaultArgoCDProject = "default"
)

// GetConditions returns the status conditions of the object.
func (in *Tinkerbell) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions sets the status conditions on the object.
func (in *Tinkerbell) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetInterval returns spec.interval, or DefaultInterval.
func (in *Tinkerbell) GetInterval() time.Duration {
	if in.Spec.Interval == nil || in.Spec.Interval.Duration <= 0 {
		return DefaultInterval
	}
	return in.Spec.Interval.Duration
}

// GetTargetNamespace returns spec.targetNamespace, or DefaultTargetNamespace.
func (in *Tinkerbell) GetTargetNamespace() string {
	if in.Spec.TargetNamespace == "" {
		return DefaultTargetNamespace
	}
	return in.Spec.TargetNamespace
}

// GetEngine returns spec.engine, or EngineFlux.
func (in *Tinkerbell) GetEngine() Engine {
	if in.Spec.Engine == "" {
		return EngineFlux
	}
	return in.Spec.Engine
}

// GetArgoCDNamespace returns spec.argoCD.namespace, or DefaultArgoCDNamespace.
func (in *Tinkerbell) GetArgoCDNamespace() string {
	if in.Spec.ArgoCD == nil || in.Spec.ArgoCD.Namespace == "" {
		return DefaultArgoCDNamespace
	}
	return in.Spec.ArgoCD.Namespace
}

// GetArgoCDProject returns spec.argoCD.project, or DefaultArgoCDProject.
func (in *Tinkerbell) GetArgoCDProject() string {
	if in.Spec.ArgoCD == nil || in.Spec.ArgoCD.Project == "" {
		return DefaultArgoCDProject
	}
	return in.Spec.ArgoCD.Project
}

// GetDeletionPolicy returns spec.deletionPolicy, or DeletionPolicyDelete.
func (in *Tinkerbell) GetDeletionPolicy() DeletionPolicy {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyDelete
	}
	return in.Spec.DeletionPolicy
}

// IsLegacyStack reports whether spec.version selects the legacy "stack" chart (0.x versions without a "v").
func (in *Tinkerbell) IsLegacyStack() bool {
	return strings.HasPrefix(in.Spec.Version, "0.")
}

// ServesAllNamespaces reports whether the stack serves the objects of every namespace: spec.scope Cluster, or
// unset on the unified chart (its default). The legacy stack chart serves only its target namespace.
func (in *Tinkerbell) ServesAllNamespaces() bool {
	if in.Spec.Scope == "" {
		return !in.IsLegacyStack()
	}
	return in.Spec.Scope == ScopeCluster
}

// CRDsManaged reports whether Kubetink manages the Tinkerbell CRDs (the default).
func (in *Tinkerbell) CRDsManaged() bool {
	return in.Spec.CRDs == nil || unsetOrTrue(in.Spec.CRDs.Managed)
}

// AllowDowngrade reports whether spec.upgrade.allowDowngrade is set.
func (in *Tinkerbell) AllowDowngrade() bool {
	return in.Spec.Upgrade != nil && in.Spec.Upgrade.AllowDowngrade
}

// UpgradeHostNames returns spec.upgrade.hostNames: the names besides the public IP that migrations treat as
// Tinkerbell's own.
func (in *Tinkerbell) UpgradeHostNames() []string {
	if in.Spec.Upgrade == nil {
		return nil
	}
	return in.Spec.Upgrade.HostNames
}

// IsEnabled reports whether the component runs; a component that is not listed runs.
func (in *ComponentCommon) IsEnabled() bool {
	return in == nil || unsetOrTrue(in.Enabled)
}

// GetSmee returns the Smee settings; never nil.
func (in *Components) GetSmee() *SmeeComponent {
	if in == nil || in.Smee == nil {
		return &SmeeComponent{}
	}
	return in.Smee
}

// GetTootles returns the Tootles settings; never nil.
func (in *Components) GetTootles() *TootlesComponent {
	if in == nil || in.Tootles == nil {
		return &TootlesComponent{}
	}
	return in.Tootles
}

// GetRufio returns the Rufio settings; never nil.
func (in *Components) GetRufio() *RufioComponent {
	if in == nil || in.Rufio == nil {
		return &RufioComponent{}
	}
	return in.Rufio
}

// GetTinkServer returns the Tink server settings; never nil.
func (in *Components) GetTinkServer() *TinkServerComponent {
	if in == nil || in.TinkServer == nil {
		return &TinkServerComponent{}
	}
	return in.TinkServer
}

// GetTinkController returns the Tink controller settings; never nil.
func (in *Components) GetTinkController() *TinkControllerComponent {
	if in == nil || in.TinkController == nil {
		return &TinkControllerComponent{}
	}
	return in.TinkController
}

// DHCPEnabled reports whether Smee's DHCP server runs (the default).
func (in *SmeeComponent) DHCPEnabled() bool {
	return in.DHCP == nil || unsetOrTrue(in.DHCP.Enabled)
}

// KubeVipEnabled reports whether kube-vip runs (the default).
func (in *Addons) KubeVipEnabled() bool {
	return in == nil || in.KubeVip == nil || unsetOrTrue(in.KubeVip.Enabled)
}

// HookOSEnabled reports whether the HookOS file server runs (the default).
func (in *Addons) HookOSEnabled() bool {
	return in == nil || in.HookOS == nil || unsetOrTrue(in.HookOS.Enabled)
}

// HookOSExistingClaim returns spec.addons.hookOS.persistence.existingClaim, or "".
func (in *Addons) HookOSExistingClaim() string {
	if in == nil || in.HookOS == nil || in.HookOS.Persistence == nil {
		return ""
	}
	return in.HookOS.Persistence.ExistingClaim
}

// ServedNamespace returns the one namespace whose objects the stack serves, or "" when it serves every
// namespace (ServesAllNamespaces).
func (in *Tinkerbell) ServedNamespace() string {
	if in.ServesAllNamespaces() {
		return ""
	}
	return in.GetTargetNamespace()
}

// unsetOrTrue reads an optional switch that defaults to on.
func unsetOrTrue(b *bool) bool {
	return b == nil || *b
}
