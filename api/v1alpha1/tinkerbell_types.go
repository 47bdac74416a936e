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
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TinkerbellKind is the kind of the Tinkerbell API.
const TinkerbellKind = "Tinkerbell"

// Engine names the GitOps engine that installs the Tinkerbell stack.
// +kubebuilder:validation:Enum=Flux;ArgoCD
type Engine string

const (
	// EngineFlux installs the stack with Flux OCIRepository, HelmRelease, GitRepository and Kustomization objects.
	EngineFlux Engine = "Flux"
	// EngineArgoCD installs the stack with Argo CD Application objects.
	EngineArgoCD Engine = "ArgoCD"
)

// DeletionPolicy says what happens to the installed services when a Tinkerbell object is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the generated GitOps objects, which uninstalls the services.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the generated GitOps objects and the services running.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// Scope says which namespaces' Hardware, Workflows, Templates and BMC objects a Tinkerbell stack serves.
// +kubebuilder:validation:Enum=Cluster;Namespace
type Scope string

const (
	// ScopeCluster serves the objects of every namespace: the unified chart's default. Only one Tinkerbell of a
	// cluster may serve every namespace.
	ScopeCluster Scope = "Cluster"
	// ScopeNamespace serves only the objects in spec.targetNamespace, beside the services: one site per
	// namespace. Its RBAC is namespaced and the cluster-scoped objects its chart needs are named after it.
	ScopeNamespace Scope = "Namespace"
)

// DHCPMode is how Smee answers DHCP.
// +kubebuilder:validation:Enum=reservation;proxy;auto-proxy
type DHCPMode string

const (
	// DHCPModeReservation makes Smee the DHCP server, answering only for known Hardware.
	DHCPModeReservation DHCPMode = "reservation"
	// DHCPModeProxy makes Smee a proxyDHCP server beside an existing DHCP server, answering known Hardware.
	DHCPModeProxy DHCPMode = "proxy"
	// DHCPModeAutoProxy makes Smee a proxyDHCP server that answers every netboot client, known or not.
	DHCPModeAutoProxy DHCPMode = "auto-proxy"
)

// IPv4Address is a dotted IPv4 address such as 192.168.2.10.
// +kubebuilder:validation:MinLength=7
// +kubebuilder:validation:MaxLength=15
// +kubebuilder:validation:XValidation:rule="isIP(self) && ip(self).family() == 4",message="must be an IPv4 address such as 192.168.2.10"
type IPv4Address string

// CIDR is an IPv4 or IPv6 network in CIDR notation such as 10.244.0.0/16.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a CIDR such as 10.244.0.0/16"
type CIDR string

// HTTPURL is an absolute http or https URL.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && size(url(self).getHost()) > 0",message="must be an absolute http:// or https:// URL"
type HTTPURL string

// InterfaceName is the name of a network interface on a node, such as eth0 or enp0s8.
// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,14}$`
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=15
type InterfaceName string

// TinkerbellSpec is the desired state of one Tinkerbell stack.
// +kubebuilder:validation:XValidation:rule="!(has(self.publicIP) && has(self.publicIPFrom))",message="spec.publicIP and spec.publicIPFrom are mutually exclusive"
// +kubebuilder:validation:XValidation:rule="self.version.startsWith('0.') || has(self.artifactsFileServer) || (has(self.addons) && has(self.addons.hookOS) && !self.addons.hookOS.enabled)",message="spec.artifactsFileServer is required unless spec.addons.hookOS.enabled is false: machines download HookOS from it"
// +kubebuilder:validation:XValidation:rule="!(has(self.engine) && self.engine == 'ArgoCD' && has(self.valuesFrom) && size(self.valuesFrom) > 0)",message="spec.valuesFrom is not supported with spec.engine ArgoCD: Argo CD cannot read Helm values from Secrets or ConfigMaps; move non-secret values to spec.values, or keep spec.engine Flux"
// +kubebuilder:validation:XValidation:rule="!(has(self.engine) && self.engine == 'ArgoCD' && has(self.chart) && (has(self.chart.secretRef) || (has(self.chart.insecure) && self.chart.insecure)))",message="spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine ArgoCD: declare the registry, with its credentials or insecure setting, as an Argo CD repository instead"
// +kubebuilder:validation:XValidation:rule="!(has(self.engine) && self.engine == 'ArgoCD' && has(self.crds) && has(self.crds.source) && has(self.crds.source.secretRef))",message="spec.crds.source.secretRef is not supported with spec.engine ArgoCD: declare the Git repository, with its credentials, as an Argo CD repository instead"
// +kubebuilder:validation:XValidation:rule="!(has(self.engine) && self.engine == 'ArgoCD' && has(self.registry) && has(self.registry.imagePullSecrets) && size(self.registry.imagePullSecrets) > 0)",message="spec.registry.imagePullSecrets is not supported with spec.engine ArgoCD: Argo CD cannot post-render the chart to add them; use a mirror that needs no pull secret, or keep spec.engine Flux"
// +kubebuilder:validation:XValidation:rule="!(self.version.startsWith('0.') && has(self.scope) && self.scope == 'Cluster')",message="spec.scope Cluster is not supported by the legacy stack chart: its Hegel and Rufio serve only the target namespace; use scope Namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.engine) && self.engine == 'ArgoCD' && self.version.startsWith('0.') && has(self.crds) && has(self.crds.managed) && !self.crds.managed)",message="spec.crds.managed false is not supported with spec.engine ArgoCD on the legacy stack chart: deleting the Application would delete the CRDs the chart installs; let Kubetink manage the CRDs"
type TinkerbellSpec struct {
	// version is the Tinkerbell release to install, such as v0.25.0. A version without the "v" prefix in the
	// 0.x range (such as 0.6.2) selects the legacy "stack" chart. Raising it upgrades the stack and runs the
	// migrations registered for that path; lowering it is refused unless spec.upgrade.allowDowngrade is true.
	// +kubebuilder:validation:MinLength=5
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][0-9A-Za-z.-]*)?$`
	// +required
	Version string `json:"version,omitempty"`

	// targetNamespace is the namespace the Tinkerbell services run in. Defaults to "tinkerbell".
	// It cannot be changed after creation.
	// +kubebuilder:default=tinkerbell
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.targetNamespace is immutable"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('kube-')",message="spec.targetNamespace may not be a kube- system namespace"
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// serviceAccountName is the ServiceAccount, in the Tinkerbell's namespace, that the Flux controllers
	// impersonate to apply the chart and the CRDs: it is copied to the HelmRelease and every Kustomization. Empty
	// means the manager's --default-service-account, and when that is empty too, the Flux controllers' own
	// account. Give it only what the stack needs (see "Who may create a Tinkerbell" in the README). Not used
	// with spec.engine ArgoCD, where the AppProject limits what the Applications may do.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// scope says which namespaces' Hardware, Workflows, Templates and BMC objects the stack serves. Cluster:
	// every namespace. Namespace: only spec.targetNamespace, with namespaced RBAC and the cluster-scoped objects
	// of the chart (kube-vip's ClusterRole and binding, the HookOS volume and StorageClass) named after that
	// namespace, so several sites share a cluster. Unset means the chart's own default: Cluster on the unified
	// chart, Namespace on the legacy stack chart. Only one Tinkerbell of a cluster may serve every namespace;
	// with several, give each scope Namespace.
	// +optional
	Scope Scope `json:"scope,omitempty"`

	// engine is the GitOps engine that installs the stack: Flux (default) or ArgoCD.
	// +kubebuilder:default=Flux
	// +optional
	Engine Engine `json:"engine,omitempty"`

	// argoCD configures the Argo CD Applications: the namespace they are created in and their project. Used only
	// when spec.engine is ArgoCD.
	// +optional
	ArgoCD *ArgoCDSpec `json:"argoCD,omitempty"`

	// interval is how often the generated objects are checked and corrected when nothing else triggers a
	// reconciliation, as a Go duration such as 10m. Defaults to 10m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// suspend stops Kubetink from changing anything for this object; the services keep running. The one
	// exception: during an upgrade, the migration Job's RBAC bindings are removed, so that no Job keeps its
	// rights while suspended (a running Job then fails; it is retried once resumed, on a reconcile request).
	// +optional
	Suspend bool `json:"suspend,omitempty"` //nolint:kubeapilinter // Flux-style suspend: false and unset both mean not suspended.

	// publicIP is the IPv4 address Smee and Tootles advertise to machines and the LoadBalancer IP of the
	// Tinkerbell Service. Mutually exclusive with publicIPFrom.
	// +optional
	PublicIP IPv4Address `json:"publicIP,omitempty"`

	// publicIPFrom takes the public IP from the first LoadBalancer ingress IP of an existing Service.
	// Mutually exclusive with publicIP.
	// +optional
	PublicIPFrom *ServiceReference `json:"publicIPFrom,omitempty"` //nolint:kubeapilinter // nil means unset; callers test the pointer, so it stays one.

	// trustedProxies are the networks whose X-Forwarded-For headers Tinkerbell trusts. When empty, they are
	// derived from the pod CIDRs of the cluster's Nodes (spec.podCIDRs), and kept current as Nodes change.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	TrustedProxies []CIDR `json:"trustedProxies,omitempty"`

	// artifactsFileServer is the URL of the server that holds HookOS or CaptainOS kernels and initramfs, such as
	// http://192.168.2.11:7173. Required while HookOS is enabled on the unified chart.
	// +optional
	ArtifactsFileServer HTTPURL `json:"artifactsFileServer,omitempty"`

	// components turns the Tinkerbell services on or off and sets their options.
	// +optional
	Components *Components `json:"components,omitempty"`

	// deployment sets replicas and node placement of the Tinkerbell workload. From v0.17 all services run in one
	// pod, so these settings apply to all of them; on the legacy stack chart they apply to every service.
	// +optional
	Deployment *DeploymentSpec `json:"deployment,omitempty"`

	// addons configures the optional add-ons shipped with the chart: kube-vip and the HookOS file server.
	// +optional
	Addons *Addons `json:"addons,omitempty"`

	// chart overrides where the Helm chart is pulled from, for mirrors and air-gapped sites.
	// +optional
	Chart *ChartSource `json:"chart,omitempty"`

	// registry rewrites every image to a mirror and adds image pull secrets, for air-gapped sites.
	// +optional
	Registry *RegistrySpec `json:"registry,omitempty"`

	// crds says whether Kubetink manages the Tinkerbell CRDs (Hardware, Template, Workflow, bmc Machine, ...)
	// and where they come from. CRDs are never deleted by Kubetink.
	// +optional
	CRDs *CRDsSpec `json:"crds,omitempty"`

	// values are Helm values deep-merged over the values Kubetink generates: the escape hatch for chart
	// settings the API does not cover. Never put secrets here; use valuesFrom.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// valuesFrom references Secrets and ConfigMaps in the Tinkerbell's namespace that hold Helm values. They are
	// passed to the GitOps engine by reference and never copied by Kubetink.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// deletionPolicy says what deleting this object does: Delete (default) uninstalls the services, Orphan leaves
	// them running. CRDs and users' objects (Hardware, Workflow, Template, Machine, ...) are never deleted.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// upgrade tunes how version changes are handled.
	// +optional
	Upgrade *UpgradePolicy `json:"upgrade,omitempty"`
}

// ArgoCDSpec configures the Argo CD Applications that install the stack when spec.engine is ArgoCD.
type ArgoCDSpec struct {
	// namespace is where the Applications are created: a namespace Argo CD reconciles Applications in.
	// Defaults to "argocd" (or the namespace the cluster admin pinned with the manager's --argocd-namespace).
	// Changing it moves the Applications without uninstalling the services.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('kube-')",message="spec.argoCD.namespace may not be a kube- system namespace"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// project is the Argo CD AppProject of the Applications. Defaults to "default". The project must allow the
	// chart and CRD repositories, the target namespace and cluster-scoped CustomResourceDefinitions.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	Project string `json:"project,omitempty"`
}

// ServiceReference names a Service.
type ServiceReference struct {
	// name of the Service.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name,omitempty"`

	// namespace of the Service. Defaults to the namespace of the Tinkerbell object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Components holds the settings of each Tinkerbell service.
// +kubebuilder:validation:XValidation:rule="!((has(self.smee) && !self.smee.enabled) && (has(self.tootles) && !self.tootles.enabled) && (has(self.rufio) && !self.rufio.enabled) && (has(self.tinkServer) && !self.tinkServer.enabled) && (has(self.tinkController) && !self.tinkController.enabled))",message="spec.components: at least one component must be enabled"
type Components struct {
	// smee (formerly Boots) serves DHCP, iPXE binaries and scripts, TFTP and syslog to machines.
	// +optional
	Smee *SmeeComponent `json:"smee,omitempty"`

	// tootles (formerly Hegel) serves instance metadata to machines.
	// +optional
	Tootles *TootlesComponent `json:"tootles,omitempty"`

	// rufio reconciles BMC Machines, Jobs and Tasks (power and boot device control).
	// +optional
	Rufio *RufioComponent `json:"rufio,omitempty"`

	// tinkServer is the gRPC server that Tink agents talk to.
	// +optional
	TinkServer *TinkServerComponent `json:"tinkServer,omitempty"`

	// tinkController reconciles Workflows.
	// +optional
	TinkController *TinkControllerComponent `json:"tinkController,omitempty"`
}

// ComponentCommon holds what every service has.
type ComponentCommon struct {
	// enabled runs the service. Defaults to true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// logLevel is the verbosity of the service's logs: 0 is info, higher numbers log more. On the legacy stack
	// chart any value above 0 means debug.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9
	// +optional
	LogLevel *int32 `json:"logLevel,omitempty"`
}

// SmeeComponent configures Smee.
type SmeeComponent struct {
	ComponentCommon `json:",inline"`

	// dhcp configures Smee's DHCP server.
	// +optional
	DHCP *SmeeDHCP `json:"dhcp,omitempty"`
}

// SmeeDHCP configures Smee's DHCP server.
type SmeeDHCP struct {
	// enabled runs the DHCP server. Defaults to true. Turn it off when another DHCP server hands out the iPXE
	// script, or for ISO boot.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// mode is reservation (Smee is the DHCP server, the default), proxy (beside an existing DHCP server, known
	// machines only) or auto-proxy (beside an existing DHCP server, every netboot client).
	// +optional
	Mode DHCPMode `json:"mode,omitempty"`

	// bindInterface is the node interface the DHCP server listens on; empty means all interfaces. Set it on
	// nodes with several networks so DHCP is answered only on the provisioning network.
	// +optional
	BindInterface InterfaceName `json:"bindInterface,omitempty"`

	// sourceInterface is the node interface on which DHCP broadcasts arrive; the chart's init container creates
	// a macvlan interface on it. Empty means the interface of the default route.
	// +optional
	SourceInterface InterfaceName `json:"sourceInterface,omitempty"`
}

// TootlesComponent configures Tootles.
type TootlesComponent struct {
	ComponentCommon `json:",inline"`
}

// RufioComponent configures Rufio.
type RufioComponent struct {
	ComponentCommon `json:",inline"`

	// maxConcurrentReconciles is how many BMC objects Rufio works on at once.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxConcurrentReconciles *int32 `json:"maxConcurrentReconciles,omitempty"` //nolint:kubeapilinter // nil means the chart default, like the other optional overrides.
}

// TinkServerComponent configures the Tink server.
type TinkServerComponent struct {
	ComponentCommon `json:",inline"`
}

// TinkControllerComponent configures the Tink controller.
type TinkControllerComponent struct {
	ComponentCommon `json:",inline"`

	// maxConcurrentReconciles is how many Workflows the controller works on at once.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxConcurrentReconciles *int32 `json:"maxConcurrentReconciles,omitempty"` //nolint:kubeapilinter // nil means the chart default, like the other optional overrides.
}

// DeploymentSpec sets replicas and node placement of the Tinkerbell workload.
type DeploymentSpec struct {
	// replicas of the Tinkerbell workload. Defaults to the chart's (1). More than one replica needs leader
	// election, which the chart enables for the controllers.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// nodeSelector restricts the workload to nodes with these labels, such as the nodes on the provisioning
	// network.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the workload run on tainted nodes, such as control-plane nodes.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity are the workload's scheduling constraints.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// resources are the compute resources of the Tinkerbell container, exactly: what is left out (limits, say)
	// is not taken from the chart's defaults. The legacy stack chart fills what is left out with its defaults.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// Addons configures the chart's optional add-ons.
type Addons struct {
	// kubeVip configures kube-vip, which announces the LoadBalancer IPs of the Tinkerbell Services.
	// +optional
	KubeVip *KubeVipAddon `json:"kubeVip,omitempty"`

	// hookOS configures the file server that downloads and serves HookOS to machines.
	// +optional
	HookOS *HookOSAddon `json:"hookOS,omitempty"`
}

// KubeVipAddon configures kube-vip.
type KubeVipAddon struct {
	// enabled runs kube-vip. Defaults to true. Turn it off when the cluster already has a LoadBalancer
	// implementation for the Tinkerbell Services.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// interface is the node interface kube-vip announces the IPs on; empty lets kube-vip choose.
	// +optional
	Interface InterfaceName `json:"interface,omitempty"`

	// lbClassOnly makes kube-vip serve only Services of its own LoadBalancer class, so it leaves other
	// LoadBalancer Services (and the node's primary IP) alone. Recommended when another LoadBalancer exists.
	// +optional
	LBClassOnly bool `json:"lbClassOnly,omitempty"` //nolint:kubeapilinter // false and unset both mean the chart default (off).
}

// HookOSAddon configures the HookOS file server.
type HookOSAddon struct {
	// enabled runs the HookOS file server. Defaults to true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// downloadURL is where the HookOS release artifacts are downloaded from; defaults to the chart's.
	// Point it at a mirror on air-gapped sites.
	// +optional
	DownloadURL HTTPURL `json:"downloadURL,omitempty"`

	// persistence says where the downloaded artifacts are kept.
	// +optional
	Persistence *HookOSPersistence `json:"persistence,omitempty"`
}

// HookOSPersistence says where HookOS artifacts are stored.
// +kubebuilder:validation:XValidation:rule="!(has(self.existingClaim) && has(self.localPersistentVolume))",message="spec.addons.hookOS.persistence: existingClaim and localPersistentVolume are mutually exclusive"
type HookOSPersistence struct {
	// existingClaim is the name of a PersistentVolumeClaim in the target namespace to store the artifacts in.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ExistingClaim string `json:"existingClaim,omitempty"`

	// localPersistentVolume stores the artifacts on a node-local volume the chart creates.
	// +optional
	LocalPersistentVolume *LocalPersistentVolume `json:"localPersistentVolume,omitempty"` //nolint:kubeapilinter // nil means unset; callers test the pointer, so it stays one.
}

// LocalPersistentVolume is a node-local volume created by the chart.
type LocalPersistentVolume struct {
	// path on the node.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +required
	Path string `json:"path,omitempty"`

	// storageClassName of the volume. Defaults to the chart's (local-storage).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName string `json:"storageClassName,omitempty"`

	// size of the volume. Defaults to the chart's (2Gi).
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
}

// ChartSource overrides where the Helm chart comes from.
type ChartSource struct {
	// url is the OCI repository holding the chart, such as oci://registry.example.com/tinkerbell/charts/tinkerbell.
	// Defaults to the upstream chart of the selected version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('oci://') && size(self) > 6",message="spec.chart.url must be an oci:// URL"
	// +optional
	URL string `json:"url,omitempty"`

	// insecure allows plain HTTP to the registry.
	// +optional
	Insecure bool `json:"insecure,omitempty"` //nolint:kubeapilinter // false and unset both mean TLS, as in Flux sources.

	// secretRef names a Secret in the Tinkerbell's namespace with registry credentials
	// (a kubernetes.io/dockerconfigjson Secret). Only the reference is passed on.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// RegistrySpec rewrites images to a mirror.
type RegistrySpec struct {
	// mirror is the registry host (and optional path prefix) that replaces the registry of every image the chart
	// runs, such as registry.example.com:5000/tinkerbell. ghcr.io/tinkerbell/tinkerbell becomes
	// registry.example.com:5000/tinkerbell/tinkerbell/tinkerbell.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._/-][a-z0-9]+)*)?$`
	// +optional
	Mirror string `json:"mirror,omitempty"`

	// imagePullSecrets name Secrets in the target namespace used to pull images.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	ImagePullSecrets []meta.LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

// CRDsSpec says how the Tinkerbell CRDs are managed.
type CRDsSpec struct {
	// managed makes Kubetink install and upgrade the Tinkerbell CRDs from the release's source, and turns off the
	// binary's own CRD migration. Defaults to true. When false, the chart's binary applies them (unified chart)
	// or Helm installs them once (legacy chart). CRDs are never deleted either way.
	// +kubebuilder:default=true
	// +optional
	Managed *bool `json:"managed,omitempty"`

	// source overrides the Git repository the CRDs are read from, for mirrors.
	// +optional
	Source *CRDSource `json:"source,omitempty"` //nolint:kubeapilinter // nil means the release default; callers test the pointer, so it stays one.
}

// CRDSource is a Git repository holding CRD manifests.
type CRDSource struct {
	// url of the Git repository, such as https://git.example.com/mirrors/tinkerbell.git.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://') || self.startsWith('ssh://')",message="spec.crds.source.url must be an http://, https:// or ssh:// URL"
	// +required
	URL string `json:"url,omitempty"`

	// tag to check out. Defaults to the tag of the selected version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Tag string `json:"tag,omitempty"`

	// path of the directory holding the CRD manifests. Defaults to the release's own layout.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Path string `json:"path,omitempty"`

	// secretRef names a Secret in the Tinkerbell's namespace with Git credentials. Only the reference is passed on.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// ValuesReference points at Helm values held in a Secret or ConfigMap.
type ValuesReference struct {
	// kind of the object: Secret or ConfigMap.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind,omitempty"`

	// name of the object, in the Tinkerbell's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +required
	Name string `json:"name,omitempty"`

	// valuesKey is the data key holding the values. Defaults to values.yaml.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[\-._a-zA-Z0-9]+$`
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`

	// targetPath is the dot path of a single value set from the key, such as smee.password.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=250
	// +optional
	TargetPath string `json:"targetPath,omitempty"`

	// optional ignores a missing object or key.
	// +optional
	Optional bool `json:"optional,omitempty"` //nolint:kubeapilinter // false and unset both mean required, as in Flux valuesFrom.
}

// UpgradePolicy tunes version changes.
type UpgradePolicy struct {
	// allowDowngrade permits lowering spec.version. Downgrades run no migrations, so objects written by the
	// newer release may not be understood by the older one.
	// +optional
	AllowDowngrade bool `json:"allowDowngrade,omitempty"` //nolint:kubeapilinter // false and unset both mean downgrades are refused.

	// hostNames are the other names and addresses machines reach Tinkerbell by, besides its public IP, such as a
	// DNS name in a Template's URLs. During an upgrade, URLs on these hosts in Hardware, Templates, Workflows and
	// BMC Jobs follow upstream's port and path moves as those on the public IP do; URLs on any other host are
	// never changed.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$`
	// +listType=set
	// +optional
	HostNames []string `json:"hostNames,omitempty"`
}

// UpgradePhase is the step an upgrade is in. The phases run in this order, each only when the upgrade needs it:
// Preflight, Suspend, PreMigrate, Uninstall, Install, PostMigrate.
// +kubebuilder:validation:Enum=Preflight;Suspend;PreMigrate;Uninstall;Install;PostMigrate
type UpgradePhase string

const (
	// UpgradePreflight waits for running Workflows and BMC Jobs to finish, and refuses an upgrade that would
	// break objects no migration can carry.
	UpgradePreflight UpgradePhase = "Preflight"
	// UpgradeSuspend suspends the running release (or pauses the automated sync of its Application) and waits
	// for it to be idle, so nothing changes the cluster while the pre-upgrade Job runs.
	UpgradeSuspend UpgradePhase = "Suspend"
	// UpgradePreMigrate runs the pre-upgrade migration Job under the installed release's CRDs.
	UpgradePreMigrate UpgradePhase = "PreMigrate"
	// UpgradeUninstall uninstalls the legacy stack release, which the unified chart replaces.
	UpgradeUninstall UpgradePhase = "Uninstall"
	// UpgradeInstall applies the new version and waits for it to be ready.
	UpgradeInstall UpgradePhase = "Install"
	// UpgradePostMigrate runs the post-upgrade migration Job under the new release's CRDs.
	UpgradePostMigrate UpgradePhase = "PostMigrate"
)

// UpgradeStatus is an upgrade in progress.
type UpgradeStatus struct {
	// fromVersion is the installed version the upgrade started from.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	FromVersion string `json:"fromVersion,omitempty"`

	// toVersion is the version being installed.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	ToVersion string `json:"toVersion,omitempty"`

	// phase is the step the upgrade is in.
	// +required
	Phase UpgradePhase `json:"phase,omitempty"`

	// startedAt is when the upgrade started.
	// +required
	StartedAt metav1.Time `json:"startedAt"` //nolint:kubeapilinter // always set when the upgrade starts; timestamps are value metav1.Time by convention.
}

// TinkerbellStatus is the observed state of a Tinkerbell stack.
type TinkerbellStatus struct {
	// conditions are Ready, Reconciling, Stalled, ComponentsReady and Migrated.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`

	// observedGeneration is the last generation fully handled (Ready or Stalled).
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"` //nolint:kubeapilinter // the Flux/kstatus convention; 0 and unset both mean not yet observed.

	// lastAppliedVersion is the version last installed successfully; migrations start from it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	LastAppliedVersion string `json:"lastAppliedVersion,omitempty"`

	// lastAppliedValuesDigest is the digest of the Helm values last applied.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=80
	// +optional
	LastAppliedValuesDigest string `json:"lastAppliedValuesDigest,omitempty"`

	// publicIP is the public IP in use, given or taken from spec.publicIPFrom.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +optional
	PublicIP string `json:"publicIP,omitempty"`

	// trustedProxies are the trusted proxy networks in use, given or derived from the Nodes' pod CIDRs.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=43
	// +listType=atomic
	// +optional
	TrustedProxies []string `json:"trustedProxies,omitempty"`

	// primarySite is the cluster's primary site (namespace/name) when it is another Tinkerbell: the one with the
	// newest release, which applies the Tinkerbell CRDs for every site and, on the unified chart, runs the Tink
	// controller and Rufio, which watch every namespace. Empty when this Tinkerbell is the primary or alone.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +optional
	PrimarySite string `json:"primarySite,omitempty"`

	// components is the state of each generated GitOps object.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Components []ComponentStatus `json:"components,omitempty"`

	// inventory lists the objects Kubetink generated, for pruning and deletion.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	// upgrade is the upgrade in progress, from lastAppliedVersion to spec.version: absent when none runs. It
	// is cleared when the upgrade completes (the steps it ran are then in migrations) or is cancelled.
	// +optional
	Upgrade UpgradeStatus `json:"upgrade,omitzero"`

	// migrations records the migration steps completed, oldest first.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Migrations []MigrationRecord `json:"migrations,omitempty"`

	// obsoleteCRDs lists CRDs in the cluster that the installed release no longer uses. Kubetink never deletes
	// them; remove them by hand once their objects are no longer needed.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	ObsoleteCRDs []string `json:"obsoleteCRDs,omitempty"`
}

// ComponentStatus is the state of one generated GitOps object.
type ComponentStatus struct {
	// name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name,omitempty"`

	// kind of the object, such as HelmRelease.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Kind string `json:"kind,omitempty"`

	// namespace of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// ready is true when the object is Ready for its current generation.
	// +required
	Ready bool `json:"ready"` //nolint:kubeapilinter // always serialized (no omitempty), so false is written explicitly.

	// message is the object's own status message.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// ResourceInventory lists objects.
type ResourceInventory struct {
	// entries are the objects, sorted by id.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Entries []ResourceRef `json:"entries,omitempty"`
}

// ResourceRef identifies one object.
type ResourceRef struct {
	// id is <namespace>_<name>_<group>_<kind>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=600
	// +required
	ID string `json:"id,omitempty"`

	// v is the object's API version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Version string `json:"v,omitempty"`
}

// MigrationRecord is one completed migration step.
type MigrationRecord struct {
	// name of the migration.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name,omitempty"`

	// fromVersion is the version upgraded from.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	FromVersion string `json:"fromVersion,omitempty"`

	// toVersion is the version upgraded to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	ToVersion string `json:"toVersion,omitempty"`

	// completedAt is when the step finished.
	// +required
	CompletedAt metav1.Time `json:"completedAt"` //nolint:kubeapilinter // always set when the step completes; timestamps are value metav1.Time by convention.
}

// Tinkerbell installs and upgrades one Tinkerbell bare-metal provisioning stack (Smee, Tootles, Rufio, Tink)
// through a GitOps engine.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tb,categories=kubetink
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Engine",type=string,JSONPath=`.spec.engine`,priority=10
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.lastAppliedVersion`,priority=10
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.targetNamespace`,priority=10
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.spec.scope`,priority=10
// +kubebuilder:printcolumn:name="Primary",type=string,JSONPath=`.status.primarySite`,priority=10
// +kubebuilder:printcolumn:name="Upgrade",type=string,JSONPath=`.status.upgrade.phase`,priority=10
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name may be at most 63 characters: it names the generated objects and labels their owner"
type Tinkerbell struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired Tinkerbell stack.
	// +required
	Spec TinkerbellSpec `json:"spec"` //nolint:kubeapilinter // omitzero here stopped the manager from reconciling (test/install TestManager_RunsAsItsServiceAccountAndServesMetrics); a Tinkerbell always has a spec.

	// status is the observed state of the stack. observedGeneration starts at -1, so tools that judge health by
	// kstatus (Flux's wait, kubectl wait) see a new Tinkerbell as in progress until Kubetink has looked at it.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status TinkerbellStatus `json:"status,omitzero"` //nolint:kubeapilinter // the status subresource convention: a value, as in the kubebuilder scaffold and Flux.
}

// TinkerbellList is a list of Tinkerbell objects.
// +kubebuilder:object:root=true
type TinkerbellList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	// items are the Tinkerbell objects.
	Items []Tinkerbell `json:"items"`
}
