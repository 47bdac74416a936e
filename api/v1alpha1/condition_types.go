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

import "fmt"

// Finalizer is set on every Tinkerbell object so its generated objects are handled before it goes away.
var Finalizer = fmt.Sprintf("%s/finalizer", GroupVersion.Group)

const (
	// ComponentsReadyCondition is True when every generated GitOps object is Ready for its current generation.
	ComponentsReadyCondition = "ComponentsReady"

	// MigratedCondition is True when every migration between status.lastAppliedVersion and spec.version ran.
	MigratedCondition = "Migrated"
)

const (
	// ComponentsNotReadyReason means a generated object is not Ready yet, or failed.
	ComponentsNotReadyReason = "ComponentsNotReady"

	// ComponentsReadyReason means every generated object is Ready.
	ComponentsReadyReason = "ComponentsReady"

	// RenderFailedReason means the spec could not be turned into GitOps objects.
	RenderFailedReason = "RenderFailed"

	// UnsupportedVersionReason means spec.version is not in the catalog of supported releases.
	UnsupportedVersionReason = "UnsupportedVersion"

	// DowngradeRefusedReason means spec.version is below status.lastAppliedVersion and downgrades are not allowed.
	DowngradeRefusedReason = "DowngradeRefused"

	// UpgradeBlockedReason means an upgrade waits for running Workflows or BMC Jobs to finish.
	UpgradeBlockedReason = "UpgradeBlocked"

	// UpgradeRefusedReason means an upgrade cannot go on until the user changes something: objects that no
	// migration can carry to the new version, or a return to the installed version after migrations ran.
	UpgradeRefusedReason = "UpgradeRefused"

	// NamespaceConflictReason means another Tinkerbell object already installs into the same target namespace.
	NamespaceConflictReason = "NamespaceConflict"

	// SiteConflictReason means the Tinkerbell would share what a site owns alone with another Tinkerbell of the
	// cluster: the namespaces it serves, its public IP, or CRDs of an incompatible release. The other one, which
	// was there first, keeps them.
	SiteConflictReason = "SiteConflict"

	// CRDsPendingReason means another Tinkerbell of the cluster applies the CRDs, and has not applied them yet.
	CRDsPendingReason = "CRDsPending"

	// PublicIPUnavailableReason means spec.publicIPFrom names a Service without a LoadBalancer IP yet.
	PublicIPUnavailableReason = "PublicIPUnavailable"

	// DependencyStalledReason means a generated object is Stalled; its message is copied.
	DependencyStalledReason = "DependencyStalled"

	// MigrationSucceededReason means every migration step completed.
	MigrationSucceededReason = "MigrationSucceeded"

	// MigrationInProgressReason means a migration Job is running.
	MigrationInProgressReason = "MigrationInProgress"

	// MigrationFailedReason means a migration Job failed; the old version keeps running.
	MigrationFailedReason = "MigrationFailed"

	// SuspendedReason means reconciliation is suspended by spec.suspend.
	SuspendedReason = "Suspended"

	// EngineSwitchInProgressReason means the objects of the GitOps engine the Tinkerbell no longer uses (after a
	// change of spec.engine or spec.argoCD.namespace) are being removed, without uninstalling the services, before
	// the new engine's objects are applied.
	EngineSwitchInProgressReason = "EngineSwitchInProgress"

	// EngineNotInstalledReason means the apiserver does not serve the kinds of the GitOps engine in spec.engine,
	// such as the Argo CD Application CRD.
	EngineNotInstalledReason = "EngineNotInstalled"

	// OwnershipConflictReason means an object Kubetink would generate already exists and is not this
	// Tinkerbell's (it lacks Kubetink's ownership labels, or they name another Tinkerbell): Kubetink never applies
	// over it.
	OwnershipConflictReason = "OwnershipConflict"

	// ChartURLNotAllowedReason means the chart URL (spec.chart.url, or the catalog's default) does not start
	// with one of the prefixes the cluster admin allows (the manager's --allowed-chart-url-prefixes).
	ChartURLNotAllowedReason = "ChartURLNotAllowed"

	// CRDSourceNotAllowedReason means the CRD source URL (spec.crds.source.url, or the catalog's default) does
	// not start with one of the prefixes the cluster admin allows (the manager's --allowed-crd-source-prefixes).
	CRDSourceNotAllowedReason = "CRDSourceNotAllowed"

	// TargetNamespaceNotAllowedReason means spec.targetNamespace is not one the cluster admin allows (the
	// manager's --allowed-target-namespaces).
	TargetNamespaceNotAllowedReason = "TargetNamespaceNotAllowed"

	// ScopeNotAllowedReason means the scope the stack would serve (spec.scope, or the chart's default) is not one
	// the cluster admin allows (the manager's --allowed-scopes).
	ScopeNotAllowedReason = "ScopeNotAllowed"

	// ArgoCDNamespaceNotAllowedReason means spec.argoCD.namespace differs from the Argo CD namespace the
	// cluster admin pinned (the manager's --argocd-namespace).
	ArgoCDNamespaceNotAllowedReason = "ArgoCDNamespaceNotAllowed"

	// ArgoCDProjectNotAllowedReason means spec.argoCD.project is not one the cluster admin allows (the
	// manager's --argocd-allowed-projects).
	ArgoCDProjectNotAllowedReason = "ArgoCDProjectNotAllowed"

	// MigrationJobForeignReason means a Job with the name of a migration Job exists but was not created by
	// Kubetink for this Tinkerbell (its owner or labels differ): its result is not trusted and it is left alone.
	MigrationJobForeignReason = "MigrationJobForeign"
)
