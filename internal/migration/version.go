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
	"regexp"

	"github.com/kubetink/kubetink/internal/catalog"
)

const (
	// FirstUnifiedVersion is the first release of the unified tinkerbell chart and binary. Every earlier version
	// (the legacy stack chart, "0.6.2") is upgraded by reinstalling, not by a Helm upgrade.
	FirstUnifiedVersion = "v0.17.0"
	// MinimumLegacyTarget is the oldest unified release the legacy stack can be upgraded to. The Workflow status
	// conversion writes the v0.19 shape (agentID instead of worker), which v0.17 and v0.18 do not accept.
	MinimumLegacyTarget = "v0.19.0"
)

// versionPattern accepts semantic versions with an optional leading "v": the legacy stack is "0.6.2", unified
// releases are "v0.19.0" and mainline builds "v0.19.2-5d22212c".
var versionPattern = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// validateVersion returns an error when v is not a version string Kubetink understands.
func validateVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("unknown version %q: want a semantic version such as \"0.6.2\" or \"v0.19.0\"", v)
	}
	return nil
}

// IsLegacy reports whether version belongs to the legacy stack chart (before the unified chart).
func IsLegacy(version string) bool {
	return catalog.Compare(version, FirstUnifiedVersion) < 0
}

// crosses reports whether an upgrade from "from" to "to" crosses boundary: from < boundary <= to.
func crosses(from, to, boundary string) bool {
	return catalog.Compare(from, boundary) < 0 && catalog.Compare(boundary, to) <= 0
}
