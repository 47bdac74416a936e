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

package migration

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/catalog"
)

const (
	// SourceISOQueryIgnoredVersion is the first release whose Smee ignores the sourceISO query parameter of an ISO
	// URL (http://<tinkerbell>:<port>/iso/<mac>/hook.iso?sourceISO=<url>). Tinkerbell commit 3bd5c15a "remove
	// sourceISO query param as ISO upstream source" (first tag v0.24.0) closed an SSRF: anyone reaching Smee could
	// make it fetch any URL. From v0.24.0 on Smee takes the source ISO from the Hardware interface whose MAC the URL
	// names (spec.interfaces[].isoboot.sourceISO), else from --iso-upstream-url.
	SourceISOQueryIgnoredVersion = "v0.24.0"
	// sourceISOQueryVersion is the first release that read the parameter: commit d99c8576 "Allow overiding the source
	// ISO" (first tag v0.22.0) added it together with the Hardware field spec.interfaces[].isoboot.sourceISO. Before
	// it, smee/internal/iso read no query parameter at all (v0.21.0).
	sourceISOQueryVersion = "v0.22.0"
	// sourceISOQueryParam is the parameter's name, as v0.22.0–v0.23.x read it with url.Values.Get (case-sensitive).
	sourceISOQueryParam = "sourceISO"
)

// Refusal is an object whose content stops an upgrade: unlike a Blocker, waiting does not clear it; the user
// must change the object (or, for a finished one, nothing needs it any more).
type Refusal struct {
	// Kind, Namespace and Name identify the object.
	Kind, Namespace, Name string
	// Field is the path of the value at fault, e.g. "spec.bootOptions.isoURL".
	Field string
	// Reason says what the value does wrong after the upgrade and how to fix it. It never quotes the value, which
	// may carry credentials (a presigned source ISO URL).
	Reason string
}

// String returns "Kind namespace/name: field: reason".
func (r Refusal) String() string {
	return fmt.Sprintf("%s %s/%s: %s: %s", r.Kind, r.Namespace, r.Name, r.Field, r.Reason)
}

// Refusals returns the objects that stop the upgrade from "from" to "to" until the user changes them.
//
// Source ISO in the URL: an upgrade from v0.22.x or v0.23.x to v0.24.0 or later is refused while a Workflow or
// a bmc Job that can still run boots an ISO from one of Tinkerbell's own hosts with the sourceISO query
// parameter. Those releases let the parameter choose the ISO that Smee patches and serves; v0.24.0 ignores it
// and silently serves the default ISO instead (see SourceISOQueryIgnoredVersion). The fix is the user's: move the
// value to spec.interfaces[].isoboot.sourceISO of the Hardware interface with the MAC in the URL's path (a field
// since v0.22.0, so it can be set before the upgrade) and drop the parameter. Upgrades from before v0.22.0 are
// not refused: Smee never read the parameter there, so nothing changes.
//
// The URLs checked are the ones v0.22–v0.23 hand to a BMC as virtual media:
//   - Workflow spec.bootOptions.isoURL (bootMode isoboot/iso: the tink controller copies it into the iso-mount
//     bmc Job) and spec.bootOptions.custombootConfig.{preparingActions,postActions}[].virtualMediaAction.mediaURL
//     (bootMode customboot: copied into the customboot bmc Jobs);
//   - bmc Job spec.tasks[].virtualMediaAction.mediaURL (Rufio's Tasks are made from these).
//
// Only objects that can still run count: Workflows not in a finished state (SUCCESS, FAILED, TIMEOUT, with or
// without the legacy STATE_ prefix) and bmc Jobs without a Completed or Failed condition. Only http(s) URLs
// whose host is one of hosts (Tinkerbell's public IP and other names; case-insensitive, exact, IPv6 with or
// without brackets, any port) count, as for the port rewrites; without hosts nothing is refused, since no URL can
// be told to be Tinkerbell's.
func Refusals(from, to string, hosts []string, workflows, bmcJobs []unstructured.Unstructured) []Refusal {
	if len(hosts) == 0 || !MayRefuse(from, to) {
		return nil
	}
	var out []Refusal
	for i := range workflows {
		wf := &workflows[i]
		state, _, _ := unstructured.NestedString(wf.Object, "status", "state")
		if isFinished(renameState(state)) {
			continue
		}
		out = append(out, sourceISORefusals(wf, Workflows.Kind, workflowMediaURLs(wf), hosts)...)
	}
	for i := range bmcJobs {
		job := &bmcJobs[i]
		if bmcJobFinished(job) {
			continue
		}
		out = append(out, sourceISORefusals(job, BMCJobs.Kind, actionMediaURLs(job, "spec", "tasks"), hosts)...)
	}
	return out
}

// MayRefuse reports whether Refusals can refuse the upgrade from "from" to "to" at all, so that a caller reads
// the Workflows and bmc Jobs (and asks for Tinkerbell's hosts) only when they matter: from v0.22.x or v0.23.x to
// v0.24.0 or later.
func MayRefuse(from, to string) bool {
	return from != "" && catalog.Compare(from, sourceISOQueryVersion) >= 0 && crosses(from, to, SourceISOQueryIgnoredVersion)
}

// mediaURL is a URL a BMC mounts and the field it is in.
type mediaURL struct {
	field, value string
}

// workflowMediaURLs returns the ISO and virtual media URLs of a Workflow's boot options.
func workflowMediaURLs(wf *unstructured.Unstructured) []mediaURL {
	var out []mediaURL
	if s, _, _ := unstructured.NestedString(wf.Object, "spec", "bootOptions", "isoURL"); s != "" {
		out = append(out, mediaURL{field: "spec.bootOptions.isoURL", value: s})
	}
	for _, list := range []string{"preparingActions", "postActions"} {
		out = append(out, actionMediaURLs(wf, "spec", "bootOptions", "custombootConfig", list)...)
	}
	return out
}

// actionMediaURLs returns the virtualMediaAction.mediaURL of each bmc action in the list at fields.
func actionMediaURLs(obj *unstructured.Unstructured, fields ...string) []mediaURL {
	actions, _, _ := unstructured.NestedSlice(obj.Object, fields...)
	var out []mediaURL
	for i, a := range actions {
		am, _ := a.(map[string]any)
		vm, _ := am["virtualMediaAction"].(map[string]any)
		if s := str(vm, "mediaURL"); s != "" {
			out = append(out, mediaURL{field: fmt.Sprintf("%s[%d].virtualMediaAction.mediaURL", strings.Join(fields, "."), i), value: s})
		}
	}
	return out
}

func sourceISORefusals(obj *unstructured.Unstructured, kind string, urls []mediaURL, hosts []string) []Refusal {
	var out []Refusal
	for _, m := range urls {
		u, err := url.Parse(m.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !isTinkerbellHost(u.Hostname(), hosts) ||
			u.Query().Get(sourceISOQueryParam) == "" {
			continue
		}
		out = append(out, Refusal{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Field: m.field,
			Reason: sourceISOReason(u)})
	}
	return out
}

// sourceISOReason says what happens to u and how to fix it, naming the Hardware interface by the MAC that Smee
// reads from the URL's path (the second to last element, as smee/internal/iso getMAC does).
func sourceISOReason(u *url.URL) string {
	iface := "the Hardware interface whose MAC the URL's path names"
	if mac, err := net.ParseMAC(path.Base(path.Dir(u.Path))); err == nil {
		iface = "the Hardware interface with MAC " + mac.String()
	}
	return fmt.Sprintf("the ISO URL on Tinkerbell chooses its source ISO with the %s query parameter, which Tinkerbell ignores from %s on "+
		"(it would boot the default ISO instead): move that source ISO URL to spec.interfaces[].isoboot.sourceISO of %s "+
		"and remove the parameter from this URL", sourceISOQueryParam, SourceISOQueryIgnoredVersion, iface)
}

// isTinkerbellHost reports whether host (a URL's Hostname(), without brackets) is one of hosts: case-insensitive
// and exact, as newURLFinder in urls.go matches them, with IPv6 addresses given with or without brackets.
func isTinkerbellHost(host string, hosts []string) bool {
	for _, h := range hosts {
		if strings.EqualFold(host, strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) {
			return true
		}
	}
	return false
}
