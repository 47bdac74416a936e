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

package render

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// maxNameLength keeps generated names valid as label values and DNS labels.
const maxNameLength = 63

// HelmReleaseName is the name of the HelmRelease of a Tinkerbell named name: the name itself for the unified
// chart, <name>-stack for the legacy stack chart. The names differ on purpose: migrating from the stack chart
// deletes the legacy HelmRelease (uninstalling it) and creates the new one.
func HelmReleaseName(name string, rel catalog.Release) string {
	if rel.Legacy {
		return objectName(name, "-stack")
	}
	return objectName(name, "")
}

// ChartRepositoryName is the name of the OCIRepository holding the chart: <name>-chart, or <name>-stack-chart
// for the legacy stack chart.
func ChartRepositoryName(name string, rel catalog.Release) string {
	if rel.Legacy {
		return objectName(name, "-stack-chart")
	}
	return objectName(name, "-chart")
}

// CRDsSourceName is the name of the GitRepository holding the CRDs: <name>-crds.
func CRDsSourceName(name string) string {
	return objectName(name, "-crds")
}

// ApplicationName is the name of the Argo CD Application of the chart of the Tinkerbell namespace/name:
// <namespace>-<name>-<hash>, with "-stack" for the legacy stack chart as HelmReleaseName has. The Applications
// of every Tinkerbell share one namespace, so the name holds the Tinkerbell's namespace, and a hash of
// namespace/name (see qualifiedName) keeps Tinkerbells a-b/c and a/b-c apart.
func ApplicationName(namespace, name string, rel catalog.Release) string {
	return objectName(qualifiedName(namespace, name), chartSuffix(rel))
}

// CRDsApplicationName is the name of an Argo CD Application of the CRDs: <namespace>-<name>-<hash>-crds,
// followed by the suffix of its directory when the release has several (see crdPaths).
func CRDsApplicationName(namespace, name, suffix string) string {
	return objectName(qualifiedName(namespace, name), "-crds"+suffix)
}

// FormerApplicationNames maps the name of each Application Render may produce for obj at rel to the name
// earlier Kubetink versions gave it, without the hash: <namespace>-<name>[-stack|-crds…]. The reconciler moves an Application
// found under its former name to the new one without uninstalling anything.
func FormerApplicationNames(obj *kubetinkv1alpha1.Tinkerbell, rel catalog.Release) map[string]string {
	former := func(suffix string) string { return objectName(obj.Namespace+"-"+obj.Name, suffix) }
	out := map[string]string{ApplicationName(obj.Namespace, obj.Name, rel): former(chartSuffix(rel))}
	_, suffixes := crdPaths(obj, rel)
	for _, s := range suffixes {
		out[CRDsApplicationName(obj.Namespace, obj.Name, s)] = former("-crds" + s)
	}
	return out
}

func chartSuffix(rel catalog.Release) string {
	if rel.Legacy {
		return "-stack"
	}
	return ""
}

// qualifiedName is <namespace>-<name>-<the first 8 hex digits of the sha256 of namespace/name>. A namespace
// cannot hold a "/", so namespace/name differs for every Tinkerbell, and so does the hash, barring a 32-bit
// collision (which the reconciler's ownership check refuses with OwnershipConflict rather than sharing an
// Application); the readable part alone would make a-b/c and a/b-c the same.
func qualifiedName(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return namespace + "-" + name + "-" + hex.EncodeToString(sum[:])[:8]
}

// ReleaseName is the Helm release name: "tinkerbell" for the unified chart, "stack" for the legacy one.
func ReleaseName(rel catalog.Release) string {
	if rel.Legacy {
		return "stack"
	}
	return "tinkerbell"
}

// crdPaths returns the directories of CRD manifests to apply, and the suffix that names each one's
// Kustomization: none when there is one directory, the directory's component name (tink, rufio) otherwise.
func crdPaths(obj *kubetinkv1alpha1.Tinkerbell, rel catalog.Release) (paths, suffixes []string) {
	if s := crdSource(obj); s != nil && s.Path != "" {
		return []string{cleanPath(s.Path)}, []string{""}
	}
	for _, p := range rel.CRDs.Paths {
		p = cleanPath(p)
		paths = append(paths, p)
		if len(rel.CRDs.Paths) == 1 {
			suffixes = append(suffixes, "")
			continue
		}
		// tinkerbell/tink/crds is named after tink.
		seg := path.Base(p)
		if seg == "crds" {
			seg = path.Base(path.Dir(p))
		}
		suffixes = append(suffixes, "-"+seg)
	}
	return paths, suffixes
}

// cleanPath returns a repository path without "./", leading or trailing slashes.
func cleanPath(p string) string {
	p = path.Clean("/" + p)
	return strings.TrimPrefix(p, "/")
}

// objectName joins name and suffix, shortening the result to maxNameLength with a hash of the full name so that
// long names stay unique and deterministic.
func objectName(name, suffix string) string {
	full := name + suffix
	if len(full) <= maxNameLength {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := maxNameLength - len(hash) - 1
	prefix := strings.TrimRight(full[:keep], "-.")
	return prefix + "-" + hash
}

func crdSource(obj *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.CRDSource {
	if obj.Spec.CRDs == nil {
		return nil
	}
	return obj.Spec.CRDs.Source
}
