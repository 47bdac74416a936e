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

package values

import (
	"fmt"
	"strconv"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// unifiedLayout is where the unified tinkerbell chart keeps the settings Kubetink writes, for one era. Only keys
// that moved or appeared between eras are here; the rest are the same in every era (see §2.4 of the upstream
// notes: v0.18.2 moved hookos/kubevip under optional.*, v0.19 introduced deployment.additionalArgs and removed
// deployment.ports, v0.23 consolidated the HTTP ports and moved the file server to optional.osie, v0.25 made the
// reference rules lists).
type unifiedLayout struct {
	// images maps each catalog image to its values key.
	images []imageKey
	// artifacts is the values prefix of the HookOS/OSIE file server (image, port, placement, Service).
	artifacts string
	// artifactsTolerations is true when the file server takes tolerations.
	artifactsTolerations bool
	// kubeVipNodeSelector and kubeVipTolerations are true when kube-vip takes them.
	kubeVipNodeSelector, kubeVipTolerations bool
	// maxConcurrentReconciles is true when rufio and tinkController take maxConcurrentReconciles.
	maxConcurrentReconciles bool
}

// imageKey is the values key of one image.
type imageKey struct {
	// name is the catalog image name.
	name string
	// key is the values path.
	key string
	// repositoryOnly is true when the key holds the repository and a separate key (or the chart's appVersion)
	// the tag.
	repositoryOnly bool
}

var (
	unifiedImagesV019 = []imageKey{
		{name: catalog.ImageTinkerbell, key: "deployment.image", repositoryOnly: true},
		{name: catalog.ImageTinkAgent, key: "deployment.agentImage", repositoryOnly: true},
		{name: catalog.ImageRelayInit, key: "deployment.init.image"},
		{name: catalog.ImageNginx, key: "optional.hookos.image"},
		{name: catalog.ImageHookDownload, key: "optional.hookos.scriptImage"},
		{name: catalog.ImageKubeVip, key: "optional.kubevip.image"},
	}
	// From v0.23 optional.hookos.image is a deprecated placeholder that would override optional.osie.image when
	// set, so only the osie key is written.
	unifiedImagesV023 = []imageKey{
		{name: catalog.ImageTinkerbell, key: "deployment.image", repositoryOnly: true},
		{name: catalog.ImageTinkAgent, key: "deployment.agentImage", repositoryOnly: true},
		{name: catalog.ImageRelayInit, key: "deployment.init.image"},
		{name: catalog.ImageNginx, key: "optional.osie.image"},
		{name: catalog.ImageHookDownload, key: "optional.hookos.scriptImage"},
		{name: catalog.ImageKubeVip, key: "optional.kubevip.image"},
		{name: catalog.ImageCaptainOS, key: "optional.captainos.image"},
	}

	layoutV019 = unifiedLayout{images: unifiedImagesV019, artifacts: "optional.hookos"}
	layoutV021 = unifiedLayout{images: unifiedImagesV019, artifacts: "optional.hookos", kubeVipNodeSelector: true}
	layoutV022 = unifiedLayout{
		images: unifiedImagesV019, artifacts: "optional.hookos", artifactsTolerations: true,
		kubeVipNodeSelector: true, kubeVipTolerations: true,
	}
	layoutV023 = unifiedLayout{
		images: unifiedImagesV023, artifacts: "optional.osie", artifactsTolerations: true,
		kubeVipNodeSelector: true, kubeVipTolerations: true, maxConcurrentReconciles: true,
	}

	unifiedLayouts = map[catalog.Era]*unifiedLayout{
		catalog.EraV019: &layoutV019,
		catalog.EraV020: &layoutV019,
		catalog.EraV021: &layoutV021,
		catalog.EraV022: &layoutV022,
		catalog.EraV023: &layoutV023,
		catalog.EraV024: &layoutV023,
		catalog.EraV025: &layoutV023,
	}
)

const (
	envs    = "deployment.envs."
	globals = envs + "globals."
)

func generateUnified(t *tree, rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, publicIP string, proxies []string, primary bool) error {
	l, ok := unifiedLayouts[rel.Era]
	if !ok {
		return fmt.Errorf("no values layout for Tinkerbell %s (era %s)", rel.Version, rel.Era)
	}
	spec := &obj.Spec

	// Addresses machines and proxies are known by.
	if publicIP != "" {
		t.set("publicIP", publicIP)
	}
	if len(proxies) > 0 {
		t.set("trustedProxies", stringList(proxies))
	}
	if spec.ArtifactsFileServer != "" {
		t.set("artifactsFileServer", string(spec.ArtifactsFileServer))
	}

	// Turn the services on or off, and the binary's own CRD migration off when Kubetink manages the CRDs.
	c := spec.Components
	smee := c.GetSmee()
	for _, s := range components {
		t.set(globals+s.enable, s.common(c).IsEnabled())
	}
	t.set(globals+"enableCRDMigrations", !obj.CRDsManaged())

	// Per-service log levels (v0.19 and later have one per service).
	for _, s := range components {
		if level := s.common(c).LogLevel; level != nil {
			t.set(envs+s.env+".logLevel", int64(*level))
		}
	}
	// The chart passes Rufio's level as TINKERBELL_RUFIO_CONTROLLER_LOG_LEVEL, which no binary reads: its flag is
	// --rufio-log-level, read from TINKERBELL_RUFIO_LOG_LEVEL (cmd/tinkerbell/flag/rufio.go and the chart's
	// templates/deployment.yaml at every tag from v0.19.0 to v0.25.0). The variable the binary reads goes in
	// deployment.additionalEnvs, which every unified release appends to the container's env.
	if level := c.GetRufio().LogLevel; level != nil {
		t.set("deployment.additionalEnvs", []any{map[string]any{"name": "TINKERBELL_RUFIO_LOG_LEVEL", "value": strconv.Itoa(int(*level))}})
	}

	// Smee's DHCP server. The privileged init container only exists to receive DHCP broadcasts, so it runs only
	// while Smee answers DHCP.
	dhcp := smee.DHCPEnabled()
	t.set(envs+"smee.dhcpEnabled", dhcp)
	t.set(envs+"smee.dhcpMode", string(dhcpMode(smee)))
	if d := smee.DHCP; d != nil && d.BindInterface != "" {
		t.set(envs+"smee.dhcpBindInterface", string(d.BindInterface))
	}
	t.set("deployment.init.enabled", smee.IsEnabled() && dhcp)
	if d := smee.DHCP; d != nil && d.SourceInterface != "" {
		t.set("deployment.init.sourceInterface", string(d.SourceInterface))
	}

	// Controller concurrency.
	for _, s := range components {
		if !s.isController() || s.maxConcurrentReconciles(c) == nil {
			continue
		}
		if !l.maxConcurrentReconciles {
			return fmt.Errorf("spec.components.%s.maxConcurrentReconciles needs Tinkerbell v0.23.0 or later: the %s chart has no such setting", s.field, rel.Version)
		}
		t.set(envs+s.env+".maxConcurrentReconciles", int64(*s.maxConcurrentReconciles(c)))
	}

	unifiedSite(t, rel, obj, primary)
	if err := unifiedPlacement(t, l, obj); err != nil {
		return err
	}
	if err := unifiedAddons(t, l, obj); err != nil {
		return err
	}
	return mirrorImages(t, rel, l.images, spec.Registry)
}

// unifiedPlacement applies spec.deployment to the Tinkerbell workload. Node selector and tolerations also go to the
// enabled add-ons where the chart takes them: kube-vip must announce the IPs from, and the file server must run
// on, the same provisioning-network nodes.
func unifiedPlacement(t *tree, l *unifiedLayout, obj *kubetinkv1alpha1.Tinkerbell) error {
	d := obj.Spec.Deployment
	if d == nil {
		return nil
	}
	if d.Replicas != nil {
		t.set("deployment.replicas", int64(*d.Replicas))
	}
	kubeVip, hookOS := obj.Spec.Addons.KubeVipEnabled(), obj.Spec.Addons.HookOSEnabled()
	if len(d.NodeSelector) > 0 {
		ns := stringMap(d.NodeSelector)
		t.set("deployment.nodeSelector", ns)
		if hookOS {
			t.set(l.artifacts+".nodeSelector", stringMap(d.NodeSelector))
		}
		if kubeVip && l.kubeVipNodeSelector {
			t.set("optional.kubevip.nodeSelector", stringMap(d.NodeSelector))
		}
	}
	if len(d.Tolerations) > 0 {
		t.set("deployment.tolerations", tolerations(d.Tolerations))
		if hookOS && l.artifactsTolerations {
			t.set(l.artifacts+".tolerations", tolerations(d.Tolerations))
		}
		if kubeVip && l.kubeVipTolerations {
			t.set("optional.kubevip.tolerations", tolerations(d.Tolerations))
		}
	}
	if d.Affinity != nil {
		v, err := jsonValue(d.Affinity)
		if err != nil {
			return fmt.Errorf("spec.deployment.affinity: %w", err)
		}
		t.set("deployment.affinity", v)
	}
	if d.Resources != nil {
		t.set("deployment.resources", resources(d.Resources, true))
	}
	return nil
}

// unifiedAddons configures kube-vip and the HookOS file server.
func unifiedAddons(t *tree, l *unifiedLayout, obj *kubetinkv1alpha1.Tinkerbell) error {
	a := obj.Spec.Addons
	kubeVip := a.KubeVipEnabled()
	t.set("optional.kubevip.enabled", kubeVip)
	if kubeVip {
		if kv := kubeVipSpec(a); kv != nil {
			if kv.Interface != "" {
				t.set("optional.kubevip.interface", string(kv.Interface))
			}
			if kv.LBClassOnly {
				t.set("optional.kubevip.additionalEnv", lbClassOnlyEnv())
			}
		}
	} else {
		// Without kube-vip the cluster's own LoadBalancer implementation must pick the Services up, and it
		// ignores Services that ask for kube-vip's class.
		t.set("service.lbClass", "")
		t.set(l.artifacts+".service.lbClass", "")
	}

	hookOS := a.HookOSEnabled()
	t.set("optional.hookos.enabled", hookOS)
	if !hookOS {
		return nil
	}
	if h := hookOSSpec(a); h != nil {
		if h.DownloadURL != "" {
			t.set("optional.hookos.downloadURL", string(h.DownloadURL))
		}
		hookOSPersistence(t, "optional.hookos.persistence", h.Persistence)
	}
	// The file server listens on its own port setting; make it the port machines are told to use.
	u, err := parseHTTPURL(string(obj.Spec.ArtifactsFileServer))
	if err != nil {
		return fmt.Errorf("spec.artifactsFileServer: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("spec.artifactsFileServer: the HookOS file server the chart runs serves plain HTTP; use an http:// URL, or set spec.addons.hookOS.enabled to false to use your own server")
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("spec.artifactsFileServer: the HookOS file server the chart runs serves its files at the root, not under %q; drop the path, or set spec.addons.hookOS.enabled to false to use your own server", u.Path)
	}
	t.set(l.artifacts+".port", urlPort(u))
	return nil
}

func hookOSPersistence(t *tree, prefix string, p *kubetinkv1alpha1.HookOSPersistence) {
	if p == nil {
		return
	}
	if p.ExistingClaim != "" {
		t.set(prefix+".existingClaim", p.ExistingClaim)
	}
	if lpv := p.LocalPersistentVolume; lpv != nil {
		t.set(prefix+".localPersistentVolume.path", lpv.Path)
		if lpv.StorageClassName != "" {
			t.set(prefix+".localPersistentVolume.storageClassName", lpv.StorageClassName)
		}
		if lpv.Size != nil {
			t.set(prefix+".localPersistentVolume.size", lpv.Size.String())
		}
	}
}

// lbClassOnlyEnv makes kube-vip serve only Services of its own LoadBalancer class.
func lbClassOnlyEnv() []any {
	return []any{map[string]any{"name": "lb_class_only", "value": "true"}}
}

func dhcpMode(smee *kubetinkv1alpha1.SmeeComponent) kubetinkv1alpha1.DHCPMode {
	if smee.DHCP == nil || smee.DHCP.Mode == "" {
		return kubetinkv1alpha1.DHCPModeReservation
	}
	return smee.DHCP.Mode
}

// mirrorImages points every image of the release at spec.registry.mirror.
func mirrorImages(t *tree, rel catalog.Release, keys []imageKey, r *kubetinkv1alpha1.RegistrySpec) error {
	if r == nil || r.Mirror == "" {
		return nil
	}
	for _, k := range keys {
		img, ok := rel.Image(k.name)
		if !ok {
			return fmt.Errorf("the catalog entry of Tinkerbell %s has no %s image", rel.Version, k.name)
		}
		ref := img.Ref()
		if k.repositoryOnly {
			ref = img.Repository
		}
		t.set(k.key, MirrorImage(r.Mirror, ref))
	}
	return nil
}

func kubeVipSpec(a *kubetinkv1alpha1.Addons) *kubetinkv1alpha1.KubeVipAddon {
	if a == nil {
		return nil
	}
	return a.KubeVip
}

func hookOSSpec(a *kubetinkv1alpha1.Addons) *kubetinkv1alpha1.HookOSAddon {
	if a == nil {
		return nil
	}
	return a.HookOS
}
