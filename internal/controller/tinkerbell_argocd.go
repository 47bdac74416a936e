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

package controller

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
)

// The Argo CD engine. Applications are not in the scheme (the typed Argo CD API module does not resolve with this
// toolchain): they are read, applied and watched as unstructured objects. They live in spec.argoCD.namespace, so
// they carry no owner reference: the kubetink.io/name and kubetink.io/namespace labels, the inventory and the
// Tinkerbell's finalizer tie them to their Tinkerbell, and a label-mapped watch brings their status changes back.

// The generated Argo CD Applications: server-side applied (create, patch), read and watched for readiness, paused
// during an upgrade, freed of their resources finalizer on orphaning or an engine switch (patch),
// pruned and deleted with the Tinkerbell (delete).
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;list;watch;create;patch;delete

// applicationGVK is the kind of Argo CD Applications.
var applicationGVK = schema.FromAPIVersionAndKind(render.ArgoCDAPIVersion, render.ApplicationKind)

// Argo CD operation phases (status.operationState.phase) and health and sync statuses.
const (
	argoPhaseRunning     = "Running"
	argoPhaseTerminating = "Terminating"
	argoPhaseFailed      = "Failed"
	argoPhaseError       = "Error"
	argoHealthy          = "Healthy"
	argoDegraded         = "Degraded"
	argoSynced           = "Synced"
)

func isApplication(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().GroupKind() == applicationGVK.GroupKind()
}

// applicationReadiness is readiness for an Argo CD Application, which has no generation-aware Ready condition.
// Argo CD records in status.sync.comparedTo the source and destination its last comparison used, and in
// status.operationState.syncResult.source those of its last sync: a status counts only when they are the
// current spec's (the analogue of observedGeneration). Ready is Healthy and Synced with no sync running (and,
// for a classic Helm repository source, sync.revision equal to targetRevision). A failed or errored sync of the
// current spec, after Argo CD's retries, or Degraded health, stalls.
func applicationReadiness(live *unstructured.Unstructured) (ready, isStalled bool, message string) {
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedString(live.Object, path...)
		return s
	}
	health, healthMsg := str("status", "health", "status"), str("status", "health", "message")
	syncStatus := str("status", "sync", "status")
	phase, opMsg := str("status", "operationState", "phase"), str("status", "operationState", "message")
	withMsg := func(s, msg string) string {
		if msg == "" {
			return s
		}
		return s + ": " + msg
	}

	switch {
	case health == "" && syncStatus == "":
		return false, false, "waiting for Argo CD to report status"
	case (phase == argoPhaseFailed || phase == argoPhaseError) && sameSpec(live, "status", "operationState", "syncResult"):
		return false, true, withMsg("sync "+strings.ToLower(phase), opMsg)
	case !sameSpec(live, "status", "sync", "comparedTo"):
		return false, false, "waiting for Argo CD to compare the current spec"
	case syncRunning(live):
		return false, false, withMsg("sync in progress", opMsg)
	case health == argoDegraded:
		return false, true, withMsg("health Degraded", healthMsg)
	case syncStatus != argoSynced || health != argoHealthy:
		return false, false, withMsg(fmt.Sprintf("sync status %s, health %s", orUnknown(syncStatus), orUnknown(health)), healthMsg)
	case !revisionCurrent(live):
		return false, false, "waiting for Argo CD to sync the target revision"
	default:
		return true, false, withMsg("Healthy and Synced", str("status", "sync", "revision"))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// sameSpec reports whether the source and destination recorded at path (status.sync.comparedTo or
// status.operationState.syncResult) are the Application's spec.source and spec.destination. Empty fields are
// ignored on both sides: Argo CD writes them back from Go structs that omit some and keep others.
func sameSpec(live *unstructured.Unstructured, path ...string) bool {
	recorded, found, _ := unstructured.NestedMap(live.Object, path...)
	if !found {
		return false
	}
	spec, _, _ := unstructured.NestedMap(live.Object, "spec")
	if !reflect.DeepEqual(pruneEmpty(normalize(spec["source"])), pruneEmpty(normalize(recorded["source"]))) {
		return false
	}
	// syncResult has no destination; comparedTo has.
	if dst, ok := recorded["destination"]; ok {
		return reflect.DeepEqual(pruneEmpty(normalize(spec["destination"])), pruneEmpty(normalize(dst)))
	}
	return true
}

// pruneEmpty drops nil, "", false, empty maps and empty lists, recursively.
func pruneEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if p := pruneEmpty(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, pruneEmpty(e))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if t == "" {
			return nil
		}
	case bool:
		if !t {
			return nil
		}
	}
	return v
}

// syncRunning reports whether Argo CD is syncing the Application or about to: an operation is requested (the
// operation field, which automated sync sets before it starts) or running.
func syncRunning(live *unstructured.Unstructured) bool {
	if _, requested := live.Object["operation"]; requested {
		return true
	}
	phase, _, _ := unstructured.NestedString(live.Object, "status", "operationState", "phase")
	return phase == argoPhaseRunning || phase == argoPhaseTerminating
}

// revisionCurrent compares status.sync.revision with spec.source.targetRevision for a classic Helm repository
// source, where Argo CD records the chart version. Git and OCI sources record a commit or digest instead; for
// them sameSpec is the check.
func revisionCurrent(live *unstructured.Unstructured) bool {
	chart, _, _ := unstructured.NestedString(live.Object, "spec", "source", "chart")
	want, _, _ := unstructured.NestedString(live.Object, "spec", "source", "targetRevision")
	got, _, _ := unstructured.NestedString(live.Object, "status", "sync", "revision")
	return chart == "" || want == "" || got == "" || got == want
}

// argoCDEngine is the Argo CD engine: Applications in spec.argoCD.namespace (namespace), tied to their
// Tinkerbell by labels. An Application is paused by turning its automated sync off.
type argoCDEngine struct {
	namespace string
}

func (argoCDEngine) name() kubetinkv1alpha1.Engine { return kubetinkv1alpha1.EngineArgoCD }

func (argoCDEngine) kinds() []client.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(applicationGVK)
	return []client.Object{u}
}

// generates holds only the Applications in the Tinkerbell's current spec.argoCD.namespace: those left in a
// former one are retired.
func (e argoCDEngine) generates(u *unstructured.Unstructured) bool {
	return isApplication(u) && u.GetNamespace() == e.namespace
}

// installs holds every Application. The CRDs' Applications count too; they have no resources finalizer, so
// deleting them early deletes nothing else.
func (argoCDEngine) installs(u *unstructured.Unstructured) bool { return isApplication(u) }

// setOwner sets nothing: Applications live in another namespace, where an owner reference cannot point.
func (argoCDEngine) setOwner(*kubetinkv1alpha1.Tinkerbell, *unstructured.Unstructured, *runtime.Scheme) error {
	return nil
}

func (argoCDEngine) ownerHandler(*runtime.Scheme, apimeta.RESTMapper) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(tinkerbellForLabels)
}

func (argoCDEngine) notServed() error {
	return waiting(kubetinkv1alpha1.EngineNotInstalledReason,
		"Argo CD is not installed: the apiserver does not serve %s Applications; install Argo CD (3.1 or later) or set spec.engine to Flux",
		applicationGVK.GroupVersion())
}

// applyRefused: an Application cannot be created in a namespace that does not exist.
func (argoCDEngine) applyRefused(desired *unstructured.Unstructured, err error) error {
	if !apierrors.IsNotFound(err) {
		return nil
	}
	return waiting(kubetinkv1alpha1.EngineNotInstalledReason, "cannot create Application %s/%s: %s; create the namespace Argo CD watches or set spec.argoCD.namespace",
		desired.GetNamespace(), desired.GetName(), err)
}

func (argoCDEngine) readiness(live *unstructured.Unstructured, _ revisions) (ready, isStalled bool, message string) {
	return applicationReadiness(live)
}

// retryHint: Argo CD does not retry a failed sync of the same spec on its own.
func (argoCDEngine) retryHint(c kubetinkv1alpha1.ComponentStatus) string {
	return fmt.Sprintf("fix the cause, then sync the Application again (argocd app sync %s/%s)", c.Namespace, c.Name)
}

// paused removes spec.syncPolicy.automated.
func (argoCDEngine) paused(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	out := u.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "spec", "syncPolicy", "automated")
	return out, nil
}

// idle: Argo CD finishes a sync already requested or running (syncRunning) even with automated sync off.
func (argoCDEngine) idle(live *unstructured.Unstructured) (isPaused, busy bool) {
	_, automated, _ := unstructured.NestedMap(live.Object, "spec", "syncPolicy", "automated")
	return !automated, syncRunning(live)
}

// retire removes the resources finalizer: without it Argo CD deletes no resources when the Application is.
func (argoCDEngine) retire(ctx context.Context, c client.Client, live *unstructured.Unstructured) error {
	return removeResourcesFinalizer(ctx, c, live)
}

// orphan removes the resources finalizer of an Application that carries the Tinkerbell's labels.
func (argoCDEngine) orphan(ctx context.Context, c client.Client, obj *kubetinkv1alpha1.Tinkerbell, live *unstructured.Unstructured) error {
	if !owns(obj, live) {
		return nil
	}
	return removeResourcesFinalizer(ctx, c, live)
}

// beforeUninstall needs nothing: Argo CD deletes the resources of an Application with its resources finalizer
// whether automated sync is on or not.
func (argoCDEngine) beforeUninstall(context.Context, client.Client, *unstructured.Unstructured) error {
	return nil
}

// removeResourcesFinalizer removes Argo CD's resources finalizers from an Application, so that deleting it
// leaves the resources it applied in place. The patch carries the resourceVersion: finalizers others add in
// between are not lost.
func removeResourcesFinalizer(ctx context.Context, c client.Client, live *unstructured.Unstructured) error {
	kept := slices.DeleteFunc(slices.Clone(live.GetFinalizers()), func(f string) bool {
		return f == render.ArgoCDResourcesFinalizer || strings.HasPrefix(f, render.ArgoCDResourcesFinalizer+"/")
	})
	if len(kept) == len(live.GetFinalizers()) {
		return nil
	}
	base := live.DeepCopy()
	live.SetFinalizers(kept)
	if err := c.Patch(ctx, live, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to remove the resources finalizer of Application %s/%s: %w", live.GetNamespace(), live.GetName(), err)
	}
	return nil
}

// tinkerbellForLabels maps an object to the Tinkerbell named by its kubetink.io labels: Applications cannot
// point at their Tinkerbell with an owner reference.
func tinkerbellForLabels(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	name, ns := l[render.LabelName], l[render.LabelNamespace]
	if name == "" || ns == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}
