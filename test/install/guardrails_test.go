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

package install

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// The messages of the kubetink-manager-* policies in config/policy, as the apiserver returns them.
const (
	msgFluxSystemNamespace = "may not write Flux or Argo CD objects in the system namespace"
	msgFluxTarget          = "that installs into a system namespace (kube-*)"
	msgFluxLabels          = "may only write Flux and Argo CD objects that carry Kubetink's labels"
	msgFluxNotOurs         = "may only change or delete Flux and Argo CD objects that already carry Kubetink's labels"
	msgJobNamespace        = "may not write jobs in the system namespace"
	msgJobCommand          = `may only create Jobs that run "kubetink migrate"`
	msgJobSecurity         = "may only create Jobs whose pod runs as non-root with the RuntimeDefault seccomp profile"
	msgJobVolumes          = "may only create Jobs whose volumes are emptyDir, configMap or projected"
	msgJobEnv              = "may not create Jobs that read Secrets through env or envFrom"
	msgJobImage            = "may only create Jobs running the migration image ghcr.io/kubetink/kubetink[:tag]"
	msgSubjectNamespace    = "may not bind a subject of a system namespace (kube-*)"
)

// renderedFor renders the objects of a Tinkerbell in namespace ns with the given engine, as the manager would.
func renderedFor(t *testing.T, ns string, engine kubetinkv1alpha1.Engine) []*unstructured.Unstructured {
	t.Helper()
	tb := &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell"},
		Spec: kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", PublicIP: "192.168.2.10", Engine: engine,
			ArtifactsFileServer: "http://192.168.2.11:7173", TrustedProxies: []kubetinkv1alpha1.CIDR{"10.244.0.0/16"}},
	}
	res, err := render.Render(tb, values.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Objects
}

// applyAs server-side applies u as the manager does (tinkerbell_apply.go).
func applyAs(t *testing.T, c client.Client, u *unstructured.Unstructured, opts ...client.ApplyOption) error {
	t.Helper()
	return c.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
		append([]client.ApplyOption{client.FieldOwner("kubetink"), client.ForceOwnership}, opts...)...)
}

func ofKind(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind {
			return u.DeepCopy()
		}
	}
	return nil
}

// The manager writes only Kubetink's own Flux and Argo CD objects, outside the system namespaces, installing
// into none: every kind it generates is applied, changed and deleted through the policy the way the reconciler
// does it, and each forbidden variant is refused with its rule's message.
func TestGuardrails_FluxAndArgoCDObjects(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	manager := impersonatingClient(t, managerUser, serviceAccountGroups(systemNamespace)...)
	dryRun := client.DryRunAll
	if err := k8sClient.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	flux := renderedFor(t, ns, kubetinkv1alpha1.EngineFlux)
	argo := renderedFor(t, ns, kubetinkv1alpha1.EngineArgoCD)
	kinds := map[string]bool{}
	for _, u := range append(flux, argo...) {
		kinds[u.GetKind()] = true
	}
	g.Expect(kinds).To(HaveLen(5), "every kind the manager generates: %v", kinds)

	// The policy is loaded asynchronously after it is created.
	unlabelled := ofKind(flux, "HelmRelease")
	unlabelled.SetLabels(nil)
	g.Eventually(func() error { return applyAs(t, manager, unlabelled, dryRun) }).Should(MatchError(ContainSubstring(msgFluxLabels)))

	// What the manager really sends: apply (create, then update), the suspend and orphan patches, delete.
	for _, u := range append(flux, argo...) {
		g.Expect(applyAs(t, manager, u)).To(Succeed(), "create %s %s", u.GetKind(), u.GetName())
		g.Expect(applyAs(t, manager, u)).To(Succeed(), "apply again %s %s", u.GetKind(), u.GetName())
	}
	hr := ofKind(flux, "HelmRelease")
	g.Expect(manager.Patch(t.Context(), hr, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspend":true}}`)))).To(Succeed())
	g.Expect(manager.Patch(t.Context(), hr, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"ownerReferences":null}}`)))).To(Succeed())
	app := ofKind(argo, "Application")
	g.Expect(app.GetLabels()[render.LabelNamespace]).NotTo(Equal(app.GetNamespace()), "an Application lives in the Argo CD namespace")
	g.Expect(manager.Patch(t.Context(), app, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))).To(Succeed())
	for _, u := range append(flux, argo...) {
		g.Expect(manager.Delete(t.Context(), u.DeepCopy(), client.DryRunAll)).To(Succeed(), "delete %s %s", u.GetKind(), u.GetName())
	}

	// Labels: all three, and a Flux object's kubetink.io/namespace is its own namespace.
	for _, label := range []string{kubetinkv1alpha1.LabelManagedBy, render.LabelName, render.LabelNamespace} {
		for _, u := range append(flux, argo...) {
			bad := u.DeepCopy()
			bad.SetName("other-" + bad.GetName())
			labels := bad.GetLabels()
			delete(labels, label)
			bad.SetLabels(labels)
			g.Expect(applyAs(t, manager, bad, dryRun)).To(MatchError(ContainSubstring(msgFluxLabels)), "%s without %s", u.GetKind(), label)
		}
	}
	elsewhere := ofKind(flux, "Kustomization")
	elsewhere.SetName("other")
	elsewhere.SetLabels(map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy, render.LabelName: "tinkerbell", render.LabelNamespace: "team-b"})
	g.Expect(applyAs(t, manager, elsewhere, dryRun)).To(MatchError(ContainSubstring(msgFluxLabels)), "a Flux object for a Tinkerbell of another namespace")

	// Objects that are not Kubetink's: neither taken over, changed nor deleted.
	for _, u := range flux {
		foreign := u.DeepCopy()
		foreign.SetName("someone-elses")
		foreign.SetLabels(map[string]string{"team": "b"})
		foreign.SetOwnerReferences(nil)
		g.Expect(k8sClient.Create(t.Context(), foreign)).To(Succeed())
		ours := u.DeepCopy()
		ours.SetName("someone-elses")
		ours.SetOwnerReferences(nil)
		g.Expect(applyAs(t, manager, ours, dryRun)).To(MatchError(ContainSubstring(msgFluxNotOurs)), "apply over a %s", u.GetKind())
		g.Expect(manager.Patch(t.Context(), foreign, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspend":true}}`)), dryRun)).
			To(MatchError(ContainSubstring(msgFluxNotOurs)), "suspend a %s", u.GetKind())
		g.Expect(manager.Delete(t.Context(), foreign, dryRun)).To(MatchError(ContainSubstring(msgFluxNotOurs)), "delete a %s", u.GetKind())
	}

	// No system namespaces, to live in or to install into.
	inSystem := ofKind(flux, "OCIRepository")
	inSystem.SetNamespace("kube-system")
	inSystem.SetLabels(map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy, render.LabelName: "tinkerbell", render.LabelNamespace: "kube-system"})
	g.Expect(applyAs(t, manager, inSystem, dryRun)).To(MatchError(ContainSubstring(msgFluxSystemNamespace + " kube-system")))
	for _, c := range []struct {
		kind, value string
		field       []string
	}{
		{"HelmRelease", "kube-system", []string{"spec", "targetNamespace"}},
		{"HelmRelease", "kube-public", []string{"spec", "storageNamespace"}},
		{"Kustomization", "kube-node-lease", []string{"spec", "targetNamespace"}},
		{"Application", "kube-system", []string{"spec", "destination", "namespace"}},
	} {
		bad := ofKind(append(flux, argo...), c.kind)
		g.Expect(unstructured.SetNestedField(bad.Object, c.value, c.field...)).To(Succeed())
		g.Expect(applyAs(t, manager, bad, dryRun)).To(MatchError(ContainSubstring(msgFluxTarget+": "+c.value)), "%s %s", c.kind, strings.Join(c.field, "."))
	}
	g.Expect(applyAs(t, k8sClient, inSystem, dryRun)).To(Succeed(), "the policy binds the manager only")
}

// The migration Jobs' pods are exactly as locked down as internal/migration builds them, and run the image the
// administrator allows.
func TestGuardrails_MigrationJobs(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	manager := impersonatingClient(t, managerUser, serviceAccountGroups(systemNamespace)...)
	dryRun := client.DryRunAll
	job := func(image string, mutate ...func(*corev1.PodSpec)) *batchv1.Job {
		j := migration.NewJob(migration.JobOptions{Name: "tinkerbell-migrate-v0-25-0-pre", Namespace: ns, Image: image,
			ServiceAccountName: "kubetink-migration", From: "v0.19.0", To: "v0.25.0", Phase: migration.PreUpgrade})
		for _, m := range mutate {
			m(&j.Spec.Template.Spec)
		}
		return j
	}
	const image = "ghcr.io/kubetink/kubetink:v0.1.0"
	sc := func(p *corev1.PodSpec) *corev1.SecurityContext { return p.Containers[0].SecurityContext }
	g.Eventually(func() error {
		return manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) { sc(p).ReadOnlyRootFilesystem = nil }), dryRun)
	}).Should(MatchError(ContainSubstring(msgJobSecurity)))
	g.Eventually(func() error { return manager.Create(t.Context(), job("evil.example/kubetink:v0.1.0"), dryRun) }).
		Should(MatchError(ContainSubstring(msgJobImage)))

	// What the manager sends: the Job of internal/migration, with a tag, a digest or both.
	digest := "@sha256:" + strings.Repeat("ab", 32)
	for _, img := range []string{image, "ghcr.io/kubetink/kubetink" + digest, image + digest, "ghcr.io/kubetink/kubetink"} {
		g.Expect(manager.Create(t.Context(), job(img), dryRun)).To(Succeed(), img)
	}
	// The volumes and env it may have.
	g.Expect(manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) {
		p.Volumes = []corev1.Volume{
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			}}}},
		}
		p.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	}), dryRun)).To(Succeed())

	// The image: only the allowed repository, not a look-alike.
	for _, img := range []string{"ghcr.io/kubetink/kubetink-evil:v0.1.0", "ghcr.io/kubetink/kubetink/evil:v0.1.0",
		"ghcr.io/kubetink/kubetink.evil.io/x:v0.1.0", "ghcr.io/kubetink/kubetink:v0.1.0/../x", "ghcr.io/kubetink/kubetink@sha256:short", "busybox"} {
		g.Expect(manager.Create(t.Context(), job(img), dryRun)).To(MatchError(ContainSubstring(msgJobImage)), img)
	}
	g.Expect(manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) {
		p.InitContainers = []corev1.Container{*p.Containers[0].DeepCopy()}
		p.InitContainers[0].Name, p.InitContainers[0].Image = "init", "busybox"
	}), dryRun)).To(MatchError(ContainSubstring(msgJobImage)), "init containers too")

	// The command.
	for name, m := range map[string]func(*corev1.PodSpec){
		"a command":       func(p *corev1.PodSpec) { p.Containers[0].Command = []string{"/bin/sh", "-c"} },
		"another command": func(p *corev1.PodSpec) { p.Containers[0].Args = []string{"manager"} },
		"no arguments":    func(p *corev1.PodSpec) { p.Containers[0].Args = nil },
	} {
		g.Expect(manager.Create(t.Context(), job(image, m), dryRun)).To(MatchError(ContainSubstring(msgJobCommand)), name)
	}

	// The security context, one weakening at a time.
	for name, m := range map[string]func(*corev1.PodSpec){
		"no pod runAsNonRoot":        func(p *corev1.PodSpec) { p.SecurityContext.RunAsNonRoot = nil },
		"pod runAsNonRoot false":     func(p *corev1.PodSpec) { p.SecurityContext.RunAsNonRoot = new(false) },
		"no pod seccomp profile":     func(p *corev1.PodSpec) { p.SecurityContext.SeccompProfile = nil },
		"unconfined seccomp profile": func(p *corev1.PodSpec) { p.SecurityContext.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined },
		"container unconfined seccomp": func(p *corev1.PodSpec) {
			sc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		},
		"no container securityContext": func(p *corev1.PodSpec) { p.Containers[0].SecurityContext = nil },
		"privilege escalation":         func(p *corev1.PodSpec) { sc(p).AllowPrivilegeEscalation = new(true) },
		"writable root filesystem":     func(p *corev1.PodSpec) { sc(p).ReadOnlyRootFilesystem = new(false) },
		"container runAsNonRoot false": func(p *corev1.PodSpec) { sc(p).RunAsNonRoot = new(false) },
		"container runAsUser 0":        func(p *corev1.PodSpec) { sc(p).RunAsUser = new(int64(0)) },
		"capabilities kept":            func(p *corev1.PodSpec) { sc(p).Capabilities = nil },
		"a capability added":           func(p *corev1.PodSpec) { sc(p).Capabilities.Add = []corev1.Capability{"NET_ADMIN"} },
		"a weaker init container": func(p *corev1.PodSpec) {
			p.InitContainers = []corev1.Container{*p.Containers[0].DeepCopy()}
			p.InitContainers[0].Name, p.InitContainers[0].SecurityContext = "init", nil
		},
	} {
		g.Expect(manager.Create(t.Context(), job(image, m), dryRun)).To(MatchError(ContainSubstring(msgJobSecurity)), name)
	}

	// Volumes and Secrets.
	for name, v := range map[string]corev1.VolumeSource{
		"secret":    {Secret: &corev1.SecretVolumeSource{SecretName: "bmc-credentials"}},
		"projected": {Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "bmc-credentials"}}}}}},
		"pvc":       {PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}},
		"nfs":       {NFS: &corev1.NFSVolumeSource{Server: "10.0.0.1", Path: "/"}},
	} {
		g.Expect(manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) {
			p.Volumes = []corev1.Volume{{Name: "v", VolumeSource: v}}
		}), dryRun)).To(MatchError(ContainSubstring(msgJobVolumes)), name)
	}
	secretRef := corev1.LocalObjectReference{Name: "bmc-credentials"}
	g.Expect(manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) {
		p.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: secretRef}}}
	}), dryRun)).To(MatchError(ContainSubstring(msgJobEnv)))
	g.Expect(manager.Create(t.Context(), job(image, func(p *corev1.PodSpec) {
		p.Containers[0].Env = []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: secretRef, Key: "password"}}}}
	}), dryRun)).To(MatchError(ContainSubstring(msgJobEnv)))

	// No system namespaces.
	inSystem := job(image)
	inSystem.Namespace = "kube-system"
	g.Expect(manager.Create(t.Context(), inSystem, dryRun)).To(MatchError(ContainSubstring(msgJobNamespace + " kube-system")))
	g.Expect(k8sClient.Create(t.Context(), job("busybox", func(p *corev1.PodSpec) { p.SecurityContext = nil }), dryRun)).
		To(Succeed(), "the policies bind the manager only")
}

// The allowed image comes from the administrator's ConfigMap: changing it moves the fence, and without it the
// manager may create no Job.
func TestGuardrails_MigrationImageFromTheConfigMap(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	manager := impersonatingClient(t, managerUser, serviceAccountGroups(systemNamespace)...)
	job := func(image string) *batchv1.Job {
		return migration.NewJob(migration.JobOptions{Name: "tinkerbell-migrate-v0-25-0-pre", Namespace: ns, Image: image,
			ServiceAccountName: "kubetink-migration", From: "v0.19.0", To: "v0.25.0", Phase: migration.PreUpgrade})
	}
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(t.Context(), client.ObjectKey{Namespace: systemNamespace, Name: "kubetink-manager-guardrails"}, cm)).To(Succeed())
	original := cm.DeepCopy()
	t.Cleanup(func() {
		_ = k8sClient.Delete(ctxBackground, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: cm.Name}})
		restored := original.DeepCopy()
		restored.ResourceVersion = ""
		if err := k8sClient.Create(ctxBackground, restored); err != nil {
			t.Error(err)
		}
	})
	g.Eventually(func() error {
		return manager.Create(t.Context(), job("ghcr.io/kubetink/kubetink:v0.1.0"), client.DryRunAll)
	}).Should(Succeed())

	cm.Data["migrationImageRepository"] = "registry.example.com/mirror/kubetink"
	g.Expect(k8sClient.Update(t.Context(), cm)).To(Succeed())
	g.Eventually(func() error {
		return manager.Create(t.Context(), job("ghcr.io/kubetink/kubetink:v0.1.0"), client.DryRunAll)
	}).
		Should(MatchError(ContainSubstring("migration image registry.example.com/mirror/kubetink[:tag]")))
	g.Expect(manager.Create(t.Context(), job("registry.example.com/mirror/kubetink:v0.1.0"), client.DryRunAll)).To(Succeed())

	g.Expect(manager.Update(t.Context(), cm)).To(MatchError(ContainSubstring("forbidden")), "the manager cannot move its own fence")
	g.Expect(k8sClient.Delete(t.Context(), cm)).To(Succeed())
	g.Eventually(func() error {
		return manager.Create(t.Context(), job("registry.example.com/mirror/kubetink:v0.1.0"), client.DryRunAll)
	}).Should(MatchError(ContainSubstring("kubetink-manager-migration-image")), "no ConfigMap, no Job")
}

// The migration ServiceAccount and its bindings are never in a system namespace, nor bind a subject there.
func TestGuardrails_MigrationServiceAccountAndBindings(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	manager := impersonatingClient(t, managerUser, serviceAccountGroups(systemNamespace)...)
	dryRun := client.DryRunAll
	sa := func(namespace string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kubetink-migration"}}
	}
	crb := func(subjectNamespace string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kubetink-migration:" + subjectNamespace + ":tinkerbell"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: subjectNamespace, Name: "kubetink-migration"}},
		}
	}
	g.Eventually(func() error { return manager.Create(t.Context(), sa("kube-system"), dryRun) }).
		Should(MatchError(ContainSubstring("may not write serviceaccounts in the system namespace kube-system")))
	g.Expect(manager.Create(t.Context(), sa(ns), dryRun)).To(Succeed())
	g.Expect(manager.Create(t.Context(), sa("kube-public"), dryRun)).To(MatchError(ContainSubstring("system namespace kube-public")))

	g.Expect(manager.Create(t.Context(), crb(ns), dryRun)).To(Succeed())
	g.Expect(manager.Create(t.Context(), crb("kube-system"), dryRun)).To(MatchError(ContainSubstring(msgSubjectNamespace)))
	g.Expect(manager.Create(t.Context(), crb("kube-node-lease"), dryRun)).To(MatchError(ContainSubstring(msgSubjectNamespace)))
}
