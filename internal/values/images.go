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

import "strings"

// MirrorImage moves an image reference to a mirror registry: the registry host is dropped and the mirror put in
// its place, keeping the repository path, tag and digest. Docker Hub short names are expanded first, the way
// container runtimes resolve them, so nginx:1.27.2 becomes <mirror>/library/nginx:1.27.2 and
// ghcr.io/tinkerbell/tinkerbell becomes <mirror>/tinkerbell/tinkerbell.
func MirrorImage(mirror, ref string) string {
	mirror = strings.TrimSuffix(mirror, "/")
	if mirror == "" || ref == "" {
		return ref
	}
	return mirror + "/" + repositoryPath(ref)
}

// repositoryPath returns ref without its registry host, with Docker Hub's implicit "library/" made explicit.
func repositoryPath(ref string) string {
	first, rest, found := strings.Cut(ref, "/")
	if !found {
		// A single name such as nginx:1.27.2 is an official Docker Hub image.
		return "library/" + ref
	}
	if !isRegistryHost(first) {
		// Such as kubevip/kube-vip:v1: a Docker Hub user image.
		return ref
	}
	if (first == "docker.io" || first == "index.docker.io") && !strings.Contains(rest, "/") {
		return "library/" + rest
	}
	return rest
}

// isRegistryHost reports whether the first path component of a reference names a registry, using the same rule
// as the Docker reference grammar: it contains a dot or a port, or is localhost.
func isRegistryHost(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost"
}
