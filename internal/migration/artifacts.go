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
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The legacy stack chart 0.6.2 serves the Hook files from its tink-stack nginx on Tinkerbell's public IP, port
// stack.hook.port (8080), at the root of /usr/share/nginx/html (templates/nginx-configmap.yaml). The unified chart
// serves them from its own file server at artifactsFileServer, which may be another address altogether (the
// HookOS Service takes that URL's host as its load balancer IP); there is nothing on 8080 any more.

// RewriteLegacyArtifactURLs points the URLs of the legacy stack's Hook file server (http(s)://<host>:8080/<path>
// on one of Env.Hosts) in every string under the object's spec at the artifacts file server: the URL in
// Env.ArtifactsFileServer followed by the old path, so a server URL with a path prefix keeps it; a query stays.
// URLs already under the artifacts file server are left, which keeps the rewrite idempotent even when that server
// is on Tinkerbell's address and port 8080. Without Env.ArtifactsFileServer it changes nothing and invents no
// host (ReportLegacyArtifactURLs lists what it left). It only applies when the upgrade leaves the legacy stack.
func RewriteLegacyArtifactURLs(obj *unstructured.Unstructured, env Env) (bool, error) {
	if !IsLegacy(env.From) || env.ArtifactsFileServer == "" {
		return false, nil
	}
	if len(env.Hosts) == 0 {
		return false, ErrNoTinkerbellHosts
	}
	srv, err := parseArtifactsFileServer(env.ArtifactsFileServer)
	if err != nil {
		return false, err
	}
	port, err := legacyArtifactsPort(env.From)
	if err != nil {
		return false, err
	}
	f := newURLFinder(env.Hosts)
	return rewriteSpecStrings(obj, func(s string) string {
		return f.edit(s, func(u hostURL) (string, bool) {
			if u.port != port || srv.serves(u) {
				return "", false
			}
			return srv.base + u.path, true
		})
	})
}

// ReportLegacyArtifactURLs lists the legacy Hook file server URLs RewriteLegacyArtifactURLs leaves because no
// artifacts file server was given.
func ReportLegacyArtifactURLs(obj *unstructured.Unstructured, env Env) []string {
	if !IsLegacy(env.From) || env.ArtifactsFileServer != "" || len(env.Hosts) == 0 {
		return nil
	}
	port, err := legacyArtifactsPort(env.From)
	if err != nil {
		return nil
	}
	f := newURLFinder(env.Hosts)
	var left []string
	walkSpecStrings(obj, func(s string) {
		for _, u := range f.find(s) {
			if u.port == port {
				left = appendNew(left, u.text)
			}
		}
	})
	if len(left) == 0 {
		return nil
	}
	slices.Sort(left) // the spec's maps are walked in no particular order
	return []string{fmt.Sprintf("left %s as is: the legacy stack's Hook file server on port %s is gone and no artifacts file server was given (--artifacts-file-server)",
		strings.Join(left, ", "), port)}
}

// serves reports whether u already points at the artifacts file server: same scheme, host and port, and a path
// under its path prefix.
func (a artifactsServer) serves(u hostURL) bool {
	if u.scheme != a.scheme || !strings.EqualFold(strings.Trim(u.host, "[]"), a.host) || u.port != a.port {
		return false
	}
	return a.path == "" || u.path == a.path || strings.HasPrefix(u.path, a.path+"/")
}

// legacyArtifactsPort returns the Hook file server port of a legacy stack release.
func legacyArtifactsPort(version string) (string, error) {
	ports, err := releasePorts(version)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(int(ports.ArtifactsHTTP)), nil
}
