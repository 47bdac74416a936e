//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/test/e2e/localenv"
)

// clusterNS holds the workloads of TestCluster but the kubetink Deployment, which runs as Kubetink's
// ServiceAccount in its namespace.
const clusterNS = "workloads"

// TestCluster proves the cluster without containers the other tests run on: kube-controller-manager,
// kube-scheduler and the kubelet stand-in turn Deployments, Jobs and PersistentVolumeClaims into Pods that run
// (as local processes when an image has a binary), report their status, roll out, finish, and stop when deleted.
func TestCluster(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	env := startEnv(t)
	g.Expect(env.CreateNode(ctx, "node-a", "10.244.0.0/24")).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterNS}})).To(Succeed())

	// Everything that only has to finish is created at once and checked below, so the waits overlap.
	g.Expect(env.Client.Create(ctx, deployment(clusterNS, "simulated", 2, corev1.PodSpec{
		Containers: []corev1.Container{{Name: "nginx", Image: "docker.io/library/nginx:1.27"}},
	}))).To(Succeed())
	g.Expect(env.Client.Create(ctx, job("version", corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "wait", Image: "docker.io/library/busybox:1.37"}},
		Containers:     []corev1.Container{{Name: "kubetink", Image: localenv.MigrationImage, Args: []string{"version"}}},
	}))).To(Succeed())
	g.Expect(env.Client.Create(ctx, job("fails", corev1.PodSpec{
		Containers: []corev1.Container{{Name: "kubetink", Image: localenv.MigrationImage, Args: []string{"no-such-command"}}},
	}))).To(Succeed())
	createLocalVolume(t, env)
	g.Expect(env.Client.Create(ctx, kubetinkDeployment("1"))).To(Succeed())

	t.Run("Node", func(t *testing.T) {
		eventually(t, "node-a is Ready, untainted, with a Lease", func(g Gomega) {
			node := &corev1.Node{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "node-a"}, node)).To(Succeed())
			g.Expect(nodeReady(node)).To(BeTrue())
			g.Expect(node.Spec.Taints).To(BeEmpty())
			g.Expect(node.Status.Allocatable).To(HaveKey(corev1.ResourcePods))
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceNodeLease, Name: "node-a"}, &coordinationv1.Lease{})).To(Succeed())
		})
	})

	t.Run("simulated_Deployment", func(t *testing.T) {
		g := NewWithT(t)
		eventually(t, "a Deployment of an image without a binary is Available", func(g Gomega) {
			expectAvailable(g, env, clusterNS, "simulated", 2)
		})
		pods := podsOf(g, env, clusterNS, "simulated")
		g.Expect(pods).To(HaveLen(2))
		for _, p := range pods {
			g.Expect(p.Spec.NodeName).To(Equal("node-a"), "bound by kube-scheduler")
			g.Expect(p.Status.PodIP).To(Equal("127.0.0.1"))
			g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
			cs := p.Status.ContainerStatuses[0]
			g.Expect(cs.State.Running).NotTo(BeNil())
			g.Expect(cs.ContainerID).To(HavePrefix("simulated://"))
		}
		g.Expect(strings.Join(env.Processes(), "\n")).NotTo(ContainSubstring("simulated"), "no process runs for it")
	})

	t.Run("Jobs", func(t *testing.T) {
		g := NewWithT(t)
		eventually(t, `the Job running "kubetink version" after a simulated init container Completes`, func(g Gomega) {
			g.Expect(jobCondition(g, env, "version")).To(Equal(batchv1.JobComplete))
		})
		pod := podsOf(g, env, clusterNS, "version")[0]
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodSucceeded))
		g.Expect(pod.Status.InitContainerStatuses[0].State.Terminated.Reason).To(Equal("Completed"))
		g.Expect(env.LogTail("pods/"+clusterNS+"_"+pod.Name+"_kubetink", 5)).To(ContainSubstring("kubetink"))
		eventually(t, "the Job running a failing command Fails", func(g Gomega) {
			g.Expect(jobCondition(g, env, "fails")).To(Equal(batchv1.JobFailed))
		})
		pod = podsOf(g, env, clusterNS, "fails")[0]
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodFailed))
		g.Expect(pod.Status.ContainerStatuses[0].State.Terminated.ExitCode).NotTo(BeZero())
	})

	t.Run("PersistentVolumeClaim", func(t *testing.T) {
		eventually(t, "a WaitForFirstConsumer claim is Bound once a Pod that uses it is scheduled, and the Pod runs", func(g Gomega) {
			pvc := &corev1.PersistentVolumeClaim{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: clusterNS, Name: "data"}, pvc)).To(Succeed())
			g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
			pod := &corev1.Pod{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: clusterNS, Name: "uses-data"}, pod)).To(Succeed())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
		})
	})

	t.Run("real_process", func(t *testing.T) {
		g := NewWithT(t)
		ns := localenv.KubetinkNamespace
		eventually(t, "a Deployment of the kubetink image runs kubetink as a process and is Available once its readiness probe passes", func(g Gomega) {
			expectAvailable(g, env, ns, "kubetink", 1)
		})
		first := podsOf(g, env, ns, "kubetink")[0]
		addr := expectServing(t, env, first.Name)
		g.Expect(addr).NotTo(HaveSuffix(":9440"), "the container port is moved to a free port")
		g.Expect(env.Processes()).To(ContainElement(HavePrefix(ns + "/" + first.Name + "/manager ")))

		// Quiet when nothing changes: the status is written only when it changes.
		time.Sleep(3 * time.Second)
		again := &corev1.Pod{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(&first), again)).To(Succeed())
		g.Expect(again.ResourceVersion).To(Equal(first.ResourceVersion), "the kubelet stand-in rewrote an unchanged status")

		// A rollout: a new ReplicaSet's Pod starts a new process; once it is Ready the old Pod is deleted, which
		// stops the old process.
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubetink"}, d)).To(Succeed())
		d.Spec.Template.Spec.Containers[0].Env = kubetinkDeployment("2").Spec.Template.Spec.Containers[0].Env
		g.Expect(env.Client.Update(ctx, d)).To(Succeed())
		var second corev1.Pod
		eventually(t, "the rollout replaced the Pod and its process", func(g Gomega) {
			expectAvailable(g, env, ns, "kubetink", 1)
			pods := podsOf(g, env, ns, "kubetink")
			g.Expect(pods).To(HaveLen(1))
			second = pods[0]
			g.Expect(second.Name).NotTo(Equal(first.Name))
			procs := strings.Join(env.Processes(), "\n")
			g.Expect(procs).To(ContainSubstring(ns + "/" + second.Name + "/manager "))
			g.Expect(procs).NotTo(ContainSubstring(first.Name))
		})
		expectServing(t, env, second.Name)

		g.Expect(env.Client.Delete(ctx, d)).To(Succeed())
		eventually(t, "deleting the Deployment stopped the process (garbage collection)", func(g Gomega) {
			g.Expect(podsOf(g, env, ns, "kubetink")).To(BeEmpty())
			g.Expect(strings.Join(env.Processes(), "\n")).NotTo(ContainSubstring("/manager "))
		})
	})

	t.Run("restarts", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(env.Client.Create(ctx, deployment(clusterNS, "restarts", 1, corev1.PodSpec{
			Containers: []corev1.Container{{Name: "kubetink", Image: localenv.MigrationImage, Args: []string{"version"}}},
		}))).To(Succeed())
		eventually(t, "a container of a Deployment that exits is restarted with a back-off (restartPolicy Always)", func(g Gomega) {
			pods := podsOf(g, env, clusterNS, "restarts")
			g.Expect(pods).To(HaveLen(1))
			g.Expect(pods[0].Status.Phase).To(Equal(corev1.PodRunning))
			cs := pods[0].Status.ContainerStatuses[0]
			g.Expect(cs.RestartCount).To(BeNumerically(">=", 2))
			g.Expect(cs.LastTerminationState.Terminated).NotTo(BeNil())
			g.Expect(cs.LastTerminationState.Terminated.Reason).To(Equal("Completed"))
		})
		g.Expect(env.Client.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: clusterNS, Name: "restarts"}})).To(Succeed())
	})

	t.Run("real_Tinkerbell", func(t *testing.T) {
		image := localenv.TinkerbellRepository + ":v0.25.0"
		if tinkerbellImages[image] == "" {
			t.Skip("no Tinkerbell v0.25.0 binary in $TINKERBELL_BINARIES")
		}
		g := NewWithT(t)
		// The chart's RBAC is not the point here (the GitOps scenarios install the chart): the Pod's
		// ServiceAccount may do anything, Tinkerbell creates its CRDs itself.
		g.Expect(env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "workloads-default-admin"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: clusterNS, Name: "default"}},
		})).To(Succeed())
		g.Expect(env.Client.Create(ctx, deployment(clusterNS, "tinkerbell", 1, corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "tinkerbell",
				Image: image,
				Env: []corev1.EnvVar{
					{Name: "TINKERBELL_PUBLIC_IPV4", Value: "192.0.2.10"},
					{Name: "TINKERBELL_TRUSTED_PROXIES", Value: "10.244.0.0/24"},
					{Name: "TINKERBELL_BIND_ADDR", Value: ""},
					{Name: "TINKERBELL_HTTP_PORT", Value: "7080"},
					{Name: "TINKERBELL_TFTP_SERVER_BIND_PORT", Value: "69"},
				},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 7080}, {Name: "grpc", ContainerPort: 42113}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthcheck", Port: intstr.FromString("http")}},
					PeriodSeconds: 5,
				},
			}},
		}))).To(Succeed())
		eventually(t, "a Deployment of the Tinkerbell v0.25.0 image runs the real binary and is Available", func(g Gomega) {
			expectAvailable(g, env, clusterNS, "tinkerbell", 1)
		})
		pod := podsOf(g, env, clusterNS, "tinkerbell")[0]
		addr, err := env.PodAddress(ctx, clusterNS, pod.Name, 7080)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.Get("http://" + addr + "/healthcheck")
		g.Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		g.Expect(string(body)).To(ContainSubstring(`"git_rev":"v0.25.0"`))

		pid := pidOf(g, env, clusterNS+"/"+pod.Name+"/tinkerbell")
		addrs := listeners(g, pid)
		t.Logf("Tinkerbell (pid %d) listens on %v", pid, addrs)
		g.Expect(addrs).To(HaveLen(5), "HTTP, Tink server, SecondStar, TFTP, syslog")
		g.Expect(addrs).To(HaveEach(HavePrefix("127.0.0.1:")), "nothing listens beyond loopback")
		g.Expect(addrs).To(ContainElement(addr), "the HTTP port PodAddress gives")
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		g.Expect(err).NotTo(HaveOccurred())
		vars := strings.Split(string(environ), "\x00")
		g.Expect(vars).To(ContainElement("TINKERBELL_PUBLIC_IPV4=192.0.2.10"), "the Pod's own settings come through")
		g.Expect(vars).To(ContainElement("TINKERBELL_DHCP_ENABLED=false"))
		g.Expect(env.Client.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: clusterNS, Name: "tinkerbell"}})).To(Succeed())
	})

	t.Run("Node_still_Ready", func(t *testing.T) {
		g := NewWithT(t)
		node := &corev1.Node{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "node-a"}, node)).To(Succeed())
		g.Expect(nodeReady(node) && len(node.Spec.Taints) == 0).To(BeTrue(), "node lifecycle controller: %v", node.Spec.Taints)
	})
}

// kubetinkDeployment runs "kubetink manager" as Kubetink's ServiceAccount, reconciling no Tinkerbell (the stack's
// own manager does), with its probes on the Pod IP and a container port given in $HEALTH_PORT, which the kubelet
// stand-in moves to a free port. rollout only changes the Pod template.
func kubetinkDeployment(rollout string) *appsv1.Deployment {
	d := deployment(localenv.KubetinkNamespace, "kubetink", 1, corev1.PodSpec{
		ServiceAccountName: localenv.KubetinkServiceAccount,
		Containers: []corev1.Container{{
			Name:  "manager",
			Image: localenv.MigrationImage,
			Args: []string{"manager", "--health-addr=$(POD_IP):$(HEALTH_PORT)", "--metrics-addr=0", "--log-encoding=console",
				"--watch-label-selector=kubetink.io/e2e-shard=none"},
			Env: []corev1.EnvVar{
				{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "HEALTH_PORT", Value: "9440"},
				{Name: "ROLLOUT", Value: rollout},
			},
			Ports: []corev1.ContainerPort{{Name: "health", ContainerPort: 9440}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("health")}},
				PeriodSeconds: 5,
			},
		}},
	})
	return d
}

// expectServing checks that the kubetink Pod's process answers its readiness endpoint at the address the
// kubelet stand-in gives for the container port, and returns the address.
func expectServing(t *testing.T, env *localenv.Env, pod string) string {
	t.Helper()
	g := NewWithT(t)
	addr, err := env.PodAddress(context.Background(), localenv.KubetinkNamespace, pod, 9440)
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := http.Get("http://" + addr + "/readyz")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
	return addr
}

// pidOf returns the process ID of a running container ("<namespace>/<pod>/<container>").
func pidOf(g Gomega, env *localenv.Env, container string) int {
	for _, p := range env.Processes() {
		if rest, ok := strings.CutPrefix(p, container+" pid="); ok {
			pid, err := strconv.Atoi(strings.Fields(rest)[0])
			g.Expect(err).NotTo(HaveOccurred())
			return pid
		}
	}
	g.Expect(env.Processes()).To(ContainElement(HavePrefix(container + " ")))
	return 0
}

// listeners returns the local addresses a process listens on (TCP) or receives on (UDP), from ss.
func listeners(g Gomega, pid int) []string {
	out, err := exec.Command("ss", "-H", "-ltunp").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	var addrs []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 7 && strings.Contains(f[6], fmt.Sprintf("pid=%d,", pid)) {
			addrs = append(addrs, f[4])
		}
	}
	return addrs
}

func deployment(namespace, name string, replicas int32, spec corev1.PodSpec) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

func job(name string, spec corev1.PodSpec) *batchv1.Job {
	spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: clusterNS, Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32(0)),
			Template:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec},
		},
	}
}

// createLocalVolume creates what the unified chart's HookOS volume is: a WaitForFirstConsumer StorageClass without
// a provisioner, a local PersistentVolume and a claim, and a Pod that uses the claim.
func createLocalVolume(t *testing.T, env *localenv.Env) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	g.Expect(env.Client.Create(ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "local-storage"},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &wait,
	})).To(Succeed())
	size := resource.MustParse("1Gi")
	g.Expect(env.Client.Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "local-storage",
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: t.TempDir()}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "non-existent-label", Operator: corev1.NodeSelectorOpDoesNotExist}},
			}}}},
		},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: clusterNS, Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: new("local-storage"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: clusterNS, Name: "uses-data"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "nginx", Image: "docker.io/library/nginx:1.27",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"},
			}}},
		},
	})).To(Succeed())
}

// expectAvailable asserts that a Deployment has rolled out: current, all replicas updated, ready and available.
func expectAvailable(g Gomega, env *localenv.Env, namespace, name string, replicas int32) {
	d := &appsv1.Deployment{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d)).To(Succeed())
	g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
	g.Expect([]int32{d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas}).
		To(Equal([]int32{replicas, replicas, replicas, replicas}), "replicas, updated, ready, available")
}

// podsOf lists the Pods labelled app=name that are not being deleted.
func podsOf(g Gomega, env *localenv.Env, namespace, name string) []corev1.Pod {
	list := &corev1.PodList{}
	g.Expect(env.Client.List(context.Background(), list, client.InNamespace(namespace), client.MatchingLabels{"app": name})).To(Succeed())
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// jobCondition returns the type of the Job's finished condition (Complete or Failed), or "" while it runs.
func jobCondition(g Gomega, env *localenv.Env, name string) batchv1.JobConditionType {
	j := &batchv1.Job{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: clusterNS, Name: name}, j)).To(Succeed())
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
