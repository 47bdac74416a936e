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
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/catalog"
)

// Smee's HTTP paths. Up to v0.21.0 (smee/smee.go; the legacy stack's Smee v0.15.1 in cmd/smee/main.go alike)
// Smee served an iPXE binary for every path under /ipxe/, named by its last segment, the iPXE script for every
// other path whose last segment is auto.ipxe ("/auto.ipxe", "/<mac>/auto.ipxe"), and ISOs under /iso/. From
// v0.22.0 (smee.IPXEBinaryURI and IPXEScriptURI; unchanged up to v0.25.0) binaries are under /ipxe/binary/ and
// scripts under /ipxe/script/; anything else 404s. /iso/ stays.
const (
	ipxeBinaryPathV0220 = "/ipxe/binary/"
	ipxeScriptPathV0220 = "/ipxe/script/"
	ipxeScriptName      = "auto.ipxe"
)

// RewriteIPXEPathsV0220 moves the iPXE script and binary URLs on Smee's HTTP port of the from-release (7171 in
// every release before v0.22.0, the legacy stack included) to the paths of v0.22.0, in every string under the
// object's spec and only on Tinkerbell's own hosts (Env.Hosts):
//
//	/auto.ipxe, /<mac>/auto.ipxe  → /ipxe/script/auto.ipxe, /ipxe/script/<mac>/auto.ipxe
//	/ipxe/<file>, /ipxe/<mac>/<file> → /ipxe/binary/<file>, /ipxe/binary/<mac>/<file>
//
// Query and fragment stay. Paths already in the v0.22.0 form, /iso/ and every other path are left. Only http
// URLs move: Smee had no TLS before v0.22.0.
func RewriteIPXEPathsV0220(obj *unstructured.Unstructured, env Env) (bool, error) {
	if len(env.Hosts) == 0 {
		return false, ErrNoTinkerbellHosts
	}
	ports, err := releasePorts(env.From)
	if err != nil {
		return false, err
	}
	smeePort := strconv.Itoa(int(ports.SmeeHTTP))
	f := newURLFinder(env.Hosts)
	return rewriteSpecStrings(obj, func(s string) string {
		return f.edit(s, func(u hostURL) (string, bool) {
			if u.scheme != "http" || u.port != smeePort {
				return "", false
			}
			p, ok := ipxePathV0220(u.path)
			if !ok {
				return "", false
			}
			return u.text[:u.portEnd] + p, true
		})
	})
}

// ipxePathV0220 returns the v0.22.0 path of a Smee path from before v0.22.0, or false when it does not move.
func ipxePathV0220(p string) (string, bool) {
	switch {
	case strings.HasPrefix(p, ipxeBinaryPathV0220), strings.HasPrefix(p, ipxeScriptPathV0220):
		return p, false // the v0.22.0 form already
	case strings.HasPrefix(p, "/ipxe/"):
		if rest := strings.TrimPrefix(p, "/ipxe/"); rest != "" {
			return ipxeBinaryPathV0220 + rest, true
		}
	case strings.HasPrefix(p, "/iso/"):
		return p, false
	case p == "/"+ipxeScriptName || strings.HasSuffix(p, "/"+ipxeScriptName):
		return strings.TrimSuffix(ipxeScriptPathV0220, "/") + p, true
	}
	return p, false
}

// releasePorts returns the port layout of version: that of the catalog release of this version, or else of the
// newest catalog release before it of the same chart (a mainline build such as v0.21.1-1a2b3c4d follows
// v0.21.0), or else of the oldest release of that chart. The last case covers the unified releases v0.17.0 to
// v0.18.3, which predate the catalog: their Smee HTTP port, the only one read that way, is v0.19.0's 7171
// (values.yaml at v0.17.0, v0.18.0, v0.18.1 and v0.18.2).
func releasePorts(version string) (catalog.Ports, error) {
	if r, err := catalog.Lookup(version); err == nil {
		return r.Ports, nil
	}
	var floor, oldest *catalog.Release
	for _, r := range catalog.Releases() {
		if r.Legacy != IsLegacy(version) {
			continue
		}
		if oldest == nil {
			oldest = &r
		}
		if catalog.Compare(r.Version, version) <= 0 {
			floor = &r
		}
	}
	switch {
	case floor != nil:
		return floor.Ports, nil
	case oldest != nil:
		return oldest.Ports, nil
	}
	return catalog.Ports{}, fmt.Errorf("no port layout known for Tinkerbell %s", version)
}
