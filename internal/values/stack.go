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
	"strings"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// stackImages maps each image of the legacy stack chart to its values key (umbrella keys under stack.*, subchart
// keys under the subchart's name).
var stackImages = []imageKey{
	{name: catalog.ImageNginx, key: "stack.image"},
	{name: catalog.ImageHookDownload, key: "stack.hook.image"},
	{name: catalog.ImageKubeVip, key: "stack.kubevip.image"},
	{name: catalog.ImageDHCPRelay, key: "stack.relay.image"},
	{name: catalog.ImageRelayInit, key: "stack.relay.initImage"},
	{name: catalog.ImageSmee, key: "smee.image"},
	{name: catalog.ImageTinkWorker, key: "smee.tinkWorkerImage"},
	{name: catalog.ImageHegel, key: "hegel.image"},
	{name: catalog.ImageRufio, key: "rufio.image"},
	{name: catalog.ImageTinkController, key: "tink.controller.image"},
	{name: catalog.ImageTinkServer, key: "tink.server.image"},
}

// generateStack writes the values of the legacy stack chart 0.6.x: global.* for the addresses, <subchart>.deploy
// for the toggles and per-subchart keys where the subcharts have them.
func generateStack(t *tree, rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, publicIP string, proxies []string) error {
	spec := &obj.Spec
	if publicIP == "" {
		// The chart's default global.publicIP (192.168.2.113) would be advertised to machines otherwise.
		return fmt.Errorf("spec.publicIP (or spec.publicIPFrom) is required by the legacy stack chart %s", rel.Version)
	}
	t.set("global.publicIP", publicIP)
	if len(proxies) > 0 {
		t.set("global.trustedProxies", stringList(proxies))
	}

	// Turn the services on or off.
	c := spec.Components
	smee := c.GetSmee()
	for _, s := range components {
		t.set(s.stack+".deploy", s.common(c).IsEnabled())
	}

	// Only Smee has a log level setting, and it knows info and debug.
	if smee.LogLevel != nil {
		t.set("smee.logLevel", stackLogLevel(*smee.LogLevel))
	}
	for _, s := range components {
		if level := s.common(c).LogLevel; s.field != "smee" && level != nil && *level > 0 {
			return fmt.Errorf("spec.components.%s.logLevel: the legacy stack chart %s has no log level setting for this service (only Smee's)", s.field, rel.Version)
		}
	}
	for _, s := range components {
		if s.isController() && s.maxConcurrentReconciles(c) != nil {
			return fmt.Errorf("spec.components.%s.maxConcurrentReconciles needs Tinkerbell v0.23.0 or later: the legacy stack chart %s has no such setting", s.field, rel.Version)
		}
	}

	// Smee's DHCP server sits behind the dhcrelay sidecar of the tink-stack proxy, which is only needed for DHCP.
	dhcp := smee.DHCPEnabled()
	t.set("smee.dhcp.enabled", dhcp)
	t.set("smee.dhcp.mode", string(dhcpMode(smee)))
	if d := smee.DHCP; d != nil {
		if d.BindInterface != "" {
			return fmt.Errorf("spec.components.smee.dhcp.bindInterface needs the unified chart (v0.19.0 or later): the legacy stack chart %s listens through its DHCP relay; use spec.components.smee.dhcp.sourceInterface", rel.Version)
		}
		if d.SourceInterface != "" {
			t.set("stack.relay.sourceInterface", string(d.SourceInterface))
		}
	}
	t.set("stack.relay.enabled", smee.IsEnabled() && dhcp)

	// Machines fetch HookOS from the tink-stack proxy on the public IP unless told otherwise.
	if spec.ArtifactsFileServer != "" {
		u, err := parseHTTPURL(string(spec.ArtifactsFileServer))
		if err != nil {
			return fmt.Errorf("spec.artifactsFileServer: %w", err)
		}
		t.set("smee.http.osieUrl.scheme", u.Scheme)
		t.set("smee.http.osieUrl.host", u.Hostname())
		t.set("smee.http.osieUrl.port", urlPort(u))
		t.set("smee.http.osieUrl.path", strings.TrimSuffix(u.Path, "/"))
	}

	if err := stackPlacement(t, obj); err != nil {
		return err
	}
	stackAddons(t, obj)
	if err := stackSite(t, rel, obj); err != nil {
		return err
	}
	return mirrorImages(t, rel, stackImages, spec.Registry)
}

func stackLogLevel(level int32) string {
	if level > 0 {
		return "debug"
	}
	return "info"
}

// stackPlacement applies spec.deployment to every subchart that has the matching key: replicas and resources to
// each service, the node selector to every Deployment (and the global one), tolerations and affinity to Smee,
// the only subchart that takes them.
func stackPlacement(t *tree, obj *kubetinkv1alpha1.Tinkerbell) error {
	d := obj.Spec.Deployment
	if d == nil {
		return nil
	}
	if d.Replicas != nil {
		for _, s := range components {
			if s.stackReplicas {
				t.set(s.stack+".replicas", int64(*d.Replicas))
			}
		}
	}
	if len(d.NodeSelector) > 0 {
		t.set("global.nodeSelector", stringMap(d.NodeSelector))
		t.set("stack.nodeSelector", stringMap(d.NodeSelector))
		for _, s := range components {
			t.set(s.stack+".nodeSelector", stringMap(d.NodeSelector))
		}
	}
	if len(d.Tolerations) > 0 {
		t.set("smee.deployment.tolerations", tolerations(d.Tolerations))
	}
	if d.Affinity != nil {
		v, err := jsonValue(d.Affinity)
		if err != nil {
			return fmt.Errorf("spec.deployment.affinity: %w", err)
		}
		t.set("smee.deployment.affinity", v)
	}
	if d.Resources != nil {
		for _, s := range components {
			t.set(s.stack+".resources", resources(d.Resources, false))
		}
	}
	return nil
}

// stackAddons configures kube-vip and the HookOS download of the tink-stack proxy.
func stackAddons(t *tree, obj *kubetinkv1alpha1.Tinkerbell) {
	a := obj.Spec.Addons
	kubeVip := a.KubeVipEnabled()
	t.set("stack.kubevip.enabled", kubeVip)
	if kubeVip {
		if kv := kubeVipSpec(a); kv != nil {
			if kv.Interface != "" {
				t.set("stack.kubevip.interface", string(kv.Interface))
			}
			if kv.LBClassOnly {
				t.set("stack.kubevip.additionalEnv", lbClassOnlyEnv())
			}
		}
	} else {
		t.set("stack.lbClass", "")
	}
	hookOS := a.HookOSEnabled()
	t.set("stack.hook.enabled", hookOS)
	if h := hookOSSpec(a); hookOS && h != nil {
		if h.DownloadURL != "" {
			t.set("stack.hook.downloadURL", string(h.DownloadURL))
		}
		hookOSPersistence(t, "stack.hook.persistence", h.Persistence)
	}
}
