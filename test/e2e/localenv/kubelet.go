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

package localenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

const (
	// leaseInterval is how often the Node Leases are renewed, as a kubelet does; kube-controller-manager's node
	// lifecycle controller marks a Node NotReady and taints it when its Lease is not renewed within
	// --node-monitor-grace-period (40 seconds or more).
	leaseInterval = 10 * time.Second
	// statusInterval is how often the Node status is posted although nothing changed (a kubelet: 5 minutes).
	statusInterval = time.Minute
	// maxStopGrace caps the grace period between SIGTERM and SIGKILL when a Pod is deleted, so tests do not wait
	// out a chart's 30 seconds.
	maxStopGrace = 5 * time.Second
	// maxBackoff caps the delay before a container is restarted (a kubelet's CrashLoopBackOff goes to 5 minutes).
	maxBackoff = 10 * time.Second
)

// kubelet stands in for the kubelet of every Node registered with CreateNode; one serves all of them. It watches
// the Pods the scheduler bound to those Nodes and runs them: init containers in order, then the containers, each
// as a local process when Options.Images has a binary for its image and simulated otherwise, restarted as the
// restart policy says. It reports their status as a kubelet does, so kube-controller-manager's Deployment,
// DaemonSet and Job controllers and Helm's and kstatus' readiness checks see a working cluster, and it stops the
// processes of a deleted Pod before removing it.
type kubelet struct {
	cs      kubernetes.Interface
	admin   []byte            // the admin kubeconfig, from which the ServiceAccount kubeconfigs are made
	images  map[string]string // image -> local binary
	dir     string            // one directory per Pod: HOME, working directory, kubeconfig
	logDir  string            // the container logs
	log     *log.Logger
	logFile *os.File
	version string // the control plane's version, reported as the kubelet's

	cancel context.CancelFunc // stops the watch, the workers and the heartbeat
	wg     sync.WaitGroup
	queue  workqueue.TypedRateLimitingInterface[string]
	pods   corelisters.PodLister

	mu        sync.Mutex
	nodes     map[string]bool
	workers   map[string]*podWorker // by namespace/name
	simulated map[string]bool       // images already logged as simulated
}

// startKubelet starts the kubelet stand-in; it serves no Node until CreateNode registers one.
func startKubelet(ctx context.Context, e *Env, images map[string]string) (*kubelet, error) {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(e.LogDir, "pods")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(e.LogDir, "kubelet.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	k := &kubelet{
		cs: cs, admin: e.cp.KubeConfig, images: images, dir: e.path("kubelet"), logDir: logDir,
		log: log.New(logFile, "", log.LstdFlags|log.Lmicroseconds), logFile: logFile, version: v.GitVersion,
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		nodes:   map[string]bool{},
		workers: map[string]*podWorker{}, simulated: map[string]bool{},
	}
	// The kubelet runs until stop, not for the ctx of Start.
	run, cancel := context.WithCancel(context.Background())
	k.cancel = cancel

	// Only Pods bound to a Node: the scheduler's binding turns into an ADDED event of this watch.
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "spec.nodeName!="
	}))
	informer := factory.Core().V1().Pods()
	k.pods = informer.Lister()
	enqueue := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok && !k.serves(pod.Spec.NodeName) {
			return
		}
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	factory.Start(run.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			k.stop()
			return nil, fmt.Errorf("kubelet: the %v informer did not sync", typ)
		}
	}
	for range 2 {
		k.wg.Go(func() { k.work(run) })
	}
	k.wg.Go(func() { k.heartbeat(run) })
	k.wg.Go(func() {
		<-run.Done()
		factory.Shutdown()
	})
	return k, nil
}

// stop stops the watch and every container process, and waits for them.
func (k *kubelet) stop() {
	k.cancel()
	k.queue.ShutDown()
	k.mu.Lock()
	workers := slices.Collect(maps.Values(k.workers))
	k.mu.Unlock()
	for _, w := range workers {
		k.wg.Go(func() { w.stop(maxStopGrace) })
	}
	k.wg.Wait()
	_ = k.logFile.Close()
}

func (k *kubelet) serves(node string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.nodes[node]
}

// CreateNode registers a Node as its kubelet would when it joins: with its labels, a pod CIDR (Kubetink derives
// the trusted proxies from the Nodes' pod CIDRs), a Ready status with room for Pods, and a Lease renewed every
// 10 seconds. From then on the kubelet stand-in runs the Pods bound to it.
func (e *Env) CreateNode(ctx context.Context, name, podCIDR string) error {
	return e.kubelet.registerNode(ctx, name, podCIDR)
}

func (k *kubelet) registerNode(ctx context.Context, name, podCIDR string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: runtime.GOARCH,
		}},
		Spec: corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
	}
	if _, err := k.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := k.postNodeStatus(ctx, name); err != nil {
		return err
	}
	if err := k.renewLease(ctx, name); err != nil {
		return err
	}
	k.mu.Lock()
	k.nodes[name] = true
	k.mu.Unlock()
	// Pods the scheduler bound before the Node was served.
	pods, err := k.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, p := range pods {
		if p.Spec.NodeName == name {
			k.queue.Add(p.Namespace + "/" + p.Name)
		}
	}
	return nil
}

// postNodeStatus writes the status a healthy kubelet reports: Ready, no pressure, room for plenty of Pods (the
// scheduler fits the charts' requests into it), the loopback address. kube-controller-manager writes to new Nodes
// too, so a conflict is retried with the Node read again.
func (k *kubelet) postNodeStatus(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return k.tryPostNodeStatus(ctx, name) })
}

func (k *kubelet) tryPostNodeStatus(ctx context.Context, name string) error {
	node, err := k.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("64Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	conditions := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	for i := range conditions {
		c := &conditions[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, old := range node.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	node.Status.Conditions = conditions
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: loopbackIP}, {Type: corev1.NodeHostName, Address: name}}
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem: "linux", Architecture: runtime.GOARCH, KernelVersion: strings.TrimSpace(string(kernel)),
		OSImage: "kubetink localenv", KubeletVersion: k.version, ContainerRuntimeVersion: "local://" + runtime.Version(),
	}
	_, err = k.cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// renewLease renews the Node's Lease in kube-node-lease, creating it the first time, as a kubelet does.
func (k *kubelet) renewLease(ctx context.Context, name string) error {
	leases := k.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := k.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{
				{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID},
			}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: new(int32(40)), RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the Leases of the Nodes and now and then posts their status.
func (k *kubelet) heartbeat(ctx context.Context) {
	ticker := time.NewTicker(leaseInterval)
	defer ticker.Stop()
	lastStatus := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		k.mu.Lock()
		nodes := slices.Sorted(maps.Keys(k.nodes))
		k.mu.Unlock()
		postStatus := time.Since(lastStatus) >= statusInterval
		if postStatus {
			lastStatus = time.Now()
		}
		for _, n := range nodes {
			if err := k.renewLease(ctx, n); err != nil && ctx.Err() == nil {
				k.log.Printf("node %s: failed to renew the Lease: %v", n, err)
			}
			if !postStatus {
				continue
			}
			if err := k.postNodeStatus(ctx, n); err != nil && ctx.Err() == nil {
				k.log.Printf("node %s: failed to post the status: %v", n, err)
			}
		}
	}
}

func (k *kubelet) work(ctx context.Context) {
	for {
		key, shutdown := k.queue.Get()
		if shutdown {
			return
		}
		if err := k.sync(ctx, key); err != nil && ctx.Err() == nil {
			if !apierrors.IsConflict(err) {
				k.log.Printf("pod %s: %v", key, err)
			}
			k.queue.AddRateLimited(key)
		} else {
			k.queue.Forget(key)
		}
		k.queue.Done(key)
	}
}

// sync brings a Pod's processes and status in line with the Pod.
func (k *kubelet) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := k.pods.Pods(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	k.mu.Lock()
	w := k.workers[key]
	if w != nil && (pod == nil || pod.UID != w.uid) {
		// The Pod is gone (deleted, or force-deleted before its processes stopped), or replaced by one of the same name.
		delete(k.workers, key)
		old := w
		k.wg.Go(func() { old.stop(maxStopGrace) })
		w = nil
	}
	served := pod != nil && k.nodes[pod.Spec.NodeName]
	remove := served && pod.DeletionTimestamp != nil && k.terminate(pod, w)
	finished := served && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed)
	if served && pod.DeletionTimestamp == nil && w == nil && !finished && ctx.Err() == nil { // a Pod that finished before this kubelet ran it is not run again
		if w, err = k.startWorker(ctx, pod); err != nil {
			k.mu.Unlock()
			return err
		}
		k.workers[key] = w
	}
	k.mu.Unlock()

	switch {
	case remove:
		// As the kubelet does once the containers have stopped: grace period 0, and only this Pod, not a
		// successor of the same name.
		err := k.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: new(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case !served || pod.DeletionTimestamp != nil || w == nil:
		return nil
	}
	status := w.podStatus(pod)
	if apiequality.Semantic.DeepEqual(&pod.Status, status) {
		return nil
	}
	pod = pod.DeepCopy()
	pod.Status = *status
	_, err = k.cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// terminate stops a deleted Pod's processes (SIGTERM, then SIGKILL after its grace period, capped at
// maxStopGrace), in the background, and reports whether they are gone, so the Pod is to be removed. It runs
// with k.mu held.
func (k *kubelet) terminate(pod *corev1.Pod, w *podWorker) bool {
	if w != nil && !w.stopped {
		if !w.terminating {
			w.terminating = true
			grace := maxStopGrace
			if s := pod.DeletionGracePeriodSeconds; s != nil && time.Duration(*s)*time.Second < grace {
				grace = max(time.Duration(*s)*time.Second, time.Second)
			}
			k.wg.Go(func() {
				w.stop(grace)
				k.mu.Lock()
				w.stopped = true
				k.mu.Unlock()
				w.notify()
			})
		}
		return false
	}
	// Once removed with grace period 0, what keeps a Pod is a finalizer.
	s := pod.DeletionGracePeriodSeconds
	return s == nil || *s != 0
}

// logSimulated logs once per image that its containers are simulated.
func (k *kubelet) logSimulated(image string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.simulated[image] {
		k.simulated[image] = true
		k.log.Printf("simulated (no local binary for image %s)", image)
	}
}

// podWorker runs one Pod, like the kubelet's pod worker: its init containers one after the other, then its
// containers, each supervised by its own goroutine.
type podWorker struct {
	k      *kubelet
	key    string
	uid    types.UID
	pod    *corev1.Pod // as first seen: the spec of a Pod does not change, but for images, which are not followed
	dir    string
	cancel context.CancelFunc // stops the Pod's containers
	done   chan struct{}
	grace  time.Duration // set before ctx is cancelled

	// Guarded by k.mu.
	terminating, stopped bool

	mu        sync.Mutex // guards what follows and the containers' proc, ports and status
	startTime metav1.Time
	initDone  bool
	inits     []*container
	ctrs      []*container
}

// container is one container of a Pod.
type container struct {
	spec   corev1.Container
	init   bool
	bin    string        // the local binary; empty when the container is simulated
	proc   *process      // the running process
	ports  map[int32]int // container port -> host port, of the running process
	status corev1.ContainerStatus
}

// startWorker starts running a Pod; it stops when ctx ends or w.stop is called.
func (k *kubelet) startWorker(ctx context.Context, pod *corev1.Pod) (*podWorker, error) {
	w := &podWorker{
		k: k, key: pod.Namespace + "/" + pod.Name, uid: pod.UID, pod: pod.DeepCopy(),
		dir: filepath.Join(k.dir, string(pod.UID)), done: make(chan struct{}),
		startTime: metav1.NewTime(time.Now().Truncate(time.Second)), grace: maxStopGrace,
	}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return nil, err
	}
	add := func(specs []corev1.Container, init bool, waiting string) []*container {
		out := make([]*container, 0, len(specs))
		for _, s := range specs {
			out = append(out, &container{spec: s, init: init, bin: k.images[s.Image], status: corev1.ContainerStatus{
				Name: s.Name, Image: s.Image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}},
			}})
		}
		return out
	}
	w.inits = add(pod.Spec.InitContainers, true, "PodInitializing")
	waiting := "ContainerCreating"
	if len(w.inits) > 0 {
		waiting = "PodInitializing"
	}
	w.ctrs = add(pod.Spec.Containers, false, waiting)
	ctx, w.cancel = context.WithCancel(ctx)
	k.wg.Go(func() { w.run(ctx) })
	return w, nil
}

// notify has the Pod's status written.
func (w *podWorker) notify() { w.k.queue.Add(w.key) }

// stop stops the Pod's processes, giving each grace between SIGTERM and SIGKILL, and waits until they are gone.
func (w *podWorker) stop(grace time.Duration) {
	w.mu.Lock()
	w.grace = grace
	w.mu.Unlock()
	w.cancel()
	<-w.done
}

func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	for _, c := range w.inits {
		if !w.supervise(ctx, c) {
			return
		}
	}
	w.mu.Lock()
	w.initDone = true
	for _, c := range w.ctrs {
		if c.status.State.Waiting != nil {
			c.status.State.Waiting.Reason = "ContainerCreating"
		}
	}
	w.mu.Unlock()
	w.notify()
	var wg sync.WaitGroup
	for _, c := range w.ctrs {
		wg.Go(func() { w.supervise(ctx, c) })
	}
	wg.Wait()
}

// supervise runs a container until it need not run again, restarting it with a growing delay as the Pod's
// restart policy says: Always restarts a container whatever its exit code, OnFailure only after a failure, Never
// not at all; an init container is never restarted after it succeeded. It reports whether the last run succeeded.
func (w *podWorker) supervise(ctx context.Context, c *container) bool {
	policy := w.pod.Spec.RestartPolicy
	backoff := time.Second
	for {
		ran, code := w.runOnce(ctx, c)
		if ctx.Err() != nil {
			return false
		}
		if ran {
			restart := code != 0 && policy != corev1.RestartPolicyNever || !c.init && policy == corev1.RestartPolicyAlways
			if !restart {
				return code == 0
			}
			message := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backoff, c.spec.Name, w.pod.Name, w.pod.Namespace, w.uid)
			w.mu.Lock()
			c.status.LastTerminationState = c.status.State
			c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: message}}
			w.mu.Unlock()
			w.notify()
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
		if ran {
			w.mu.Lock()
			c.status.RestartCount++
			w.mu.Unlock()
		}
	}
}

// runOnce runs a container once and reports its exit code; ran is false when it could not start (its state
// then says why, and it is tried again).
func (w *podWorker) runOnce(ctx context.Context, c *container) (ran bool, code int32) {
	if c.bin == "" {
		return w.simulate(ctx, c)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	proc, ports, err := w.start(ctx, c)
	if err != nil {
		reason := "RunContainerError"
		if errors.Is(err, errConfig) {
			reason = "CreateContainerConfigError"
		}
		w.k.log.Printf("pod %s: container %s: %v", w.key, c.spec.Name, err)
		w.mu.Lock()
		c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
		w.mu.Unlock()
		w.notify()
		return false, 0
	}
	id := fmt.Sprintf("local://%d", proc.cmd.Process.Pid)
	w.mu.Lock()
	c.proc, c.ports = proc, ports
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	c.status.ContainerID, c.status.ImageID = id, "local://"+c.bin
	c.status.Started = new(true)
	// Without a readiness probe a started container is ready; with one, once the probe passes.
	c.status.Ready = c.spec.ReadinessProbe == nil && !c.init
	w.mu.Unlock()
	w.notify()
	if c.spec.ReadinessProbe != nil && !c.init {
		go w.probeReadiness(ctx, c, proc)
	}
	select {
	case <-proc.done:
	case <-ctx.Done():
		w.mu.Lock()
		grace := w.grace
		w.mu.Unlock()
		if err := proc.stop(grace); err != nil {
			w.k.log.Printf("pod %s: container %s: %v", w.key, c.spec.Name, err)
		}
	}
	code = proc.exitCode()
	w.k.log.Printf("pod %s: container %s (pid %d) exited with %d", w.key, c.spec.Name, proc.cmd.Process.Pid, code)
	w.terminated(c, now, code, id)
	return true, code
}

// simulate stands in for a container without a local binary: it runs until the Pod stops when it is expected to
// keep running (a container of a Pod that restarts Always), and exits 0 at once otherwise (init containers, Job
// containers), so charts' init steps and hooks pass.
func (w *podWorker) simulate(ctx context.Context, c *container) (bool, int32) {
	w.k.logSimulated(c.spec.Image)
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	id := fmt.Sprintf("simulated://%s/%s/%d", w.uid, c.spec.Name, c.status.RestartCount)
	if c.init || w.pod.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		w.mu.Lock()
		c.status.ImageID = "simulated://" + c.spec.Image
		w.mu.Unlock()
		w.terminated(c, now, 0, id)
		return true, 0
	}
	w.mu.Lock()
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	c.status.ContainerID, c.status.ImageID = id, "simulated://"+c.spec.Image
	c.status.Started, c.status.Ready = new(true), true // a probe of a simulated container counts as passing
	w.mu.Unlock()
	w.notify()
	<-ctx.Done()
	return true, 0
}

// terminated records that a container ended with code.
func (w *podWorker) terminated(c *container, started metav1.Time, code int32, id string) {
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	w.mu.Lock()
	c.proc, c.ports = nil, nil
	c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: metav1.NewTime(time.Now().Truncate(time.Second)), ContainerID: id,
	}}
	c.status.Started, c.status.Ready = new(false), false
	w.mu.Unlock()
	w.notify()
}

// errConfig marks an error in resolving a container's environment.
var errConfig = errors.New("container config")

// start starts a container's process: its binary with the container's command (but for the executable, which
// the binary replaces) and arguments, "$(VAR)" expanded; its environment resolved like a kubelet's, with the
// overrides of overrides.go; its output in LogDir/pods/<namespace>_<pod>_<container>.log. Only the binary and
// the unexpanded arguments are logged, since variables may hold Secret values.
func (w *podWorker) start(ctx context.Context, c *container) (*process, map[int32]int, error) {
	names, vars, err := w.k.containerEnv(ctx, w.pod, &c.spec)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	kubeconfig := filepath.Join(w.dir, "kubeconfig")
	if err := writeServiceAccountKubeconfig(w.k.admin, w.pod.Namespace, serviceAccountName(w.pod), kubeconfig); err != nil {
		return nil, nil, err
	}
	set, ports, err := overrides(w.pod, &c.spec, vars, kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	env := podEnv(w.pod, w.dir, kubeconfig)
	for _, n := range names {
		env = append(env, n+"="+vars[n])
	}
	for _, n := range slices.Sorted(maps.Keys(set)) {
		env = append(env, n+"="+set[n]) // exec keeps the last value of a variable
		vars[n] = set[n]
	}
	argv := []string{c.bin}
	if len(c.spec.Command) > 0 {
		argv = append(argv, c.spec.Command[1:]...)
	}
	argv = append(argv, c.spec.Args...)
	for i := 1; i < len(argv); i++ {
		argv[i] = expand(argv[i], vars)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, w.dir
	name := fmt.Sprintf("%s_%s_%s", w.pod.Namespace, w.pod.Name, c.spec.Name)
	proc, err := startCommand(name, filepath.Join(w.k.logDir, name+".log"), cmd)
	if err != nil {
		return nil, nil, err
	}
	w.k.log.Printf("pod %s: container %s started as pid %d: %s %s (ports %v)", w.key, c.spec.Name, proc.cmd.Process.Pid,
		c.bin, strings.Join(slices.Concat(c.spec.Command[min(1, len(c.spec.Command)):], c.spec.Args), " "), ports)
	return proc, ports, nil
}

// probeReadiness runs a container's readiness probe while its process runs: every half second until it passes,
// then at the probe's period; Ready turns false after failureThreshold failures in a row. httpGet and tcpSocket
// probes go to the port on 127.0.0.1 (moved or not), gRPC probes are a TCP connect, exec probes pass.
func (w *podWorker) probeReadiness(ctx context.Context, c *container, proc *process) {
	probe := c.spec.ReadinessProbe
	period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
	failures := 0
	for {
		ok := w.probe(ctx, c, probe)
		w.mu.Lock()
		ready := c.status.Ready
		if c.proc == proc {
			if ok {
				failures, ready = 0, true
			} else if failures++; failures >= int(max(probe.FailureThreshold, 1)) {
				ready = false
			}
		}
		changed := c.proc == proc && c.status.Ready != ready
		if changed {
			c.status.Ready = ready
		}
		w.mu.Unlock()
		if changed {
			w.notify()
		}
		wait := period
		if !ready {
			wait = 500 * time.Millisecond
		}
		select {
		case <-proc.done:
			return
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (w *podWorker) probe(ctx context.Context, c *container, p *corev1.Probe) bool {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	var port intstr.IntOrString
	switch {
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	case p.GRPC != nil:
		port = intstr.FromInt32(p.GRPC.Port)
	default:
		return true // exec probes pass
	}
	addr, err := w.hostAddr(c, port)
	if err != nil {
		return false
	}
	if p.HTTPGet == nil {
		conn, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}
	scheme := strings.ToLower(string(p.HTTPGet.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+p.HTTPGet.Path, nil)
	if err != nil {
		return false
	}
	for _, h := range p.HTTPGet.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a kubelet does not verify probe certificates either
	}}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// hostAddr returns 127.0.0.1 and the host port of a container port (a number or a port name) of c's process:
// the port it was moved to, or the container port itself.
func (w *podWorker) hostAddr(c *container, port intstr.IntOrString) (string, error) {
	containerPort := port.IntVal
	if port.Type == intstr.String {
		i := slices.IndexFunc(c.spec.Ports, func(p corev1.ContainerPort) bool { return p.Name == port.StrVal })
		if i < 0 {
			return "", fmt.Errorf("container %s has no port named %q", c.spec.Name, port.StrVal)
		}
		containerPort = c.spec.Ports[i].ContainerPort
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if hostPort, ok := c.ports[containerPort]; ok {
		return loopback(hostPort), nil
	}
	return loopback(int(containerPort)), nil
}

// podStatus is the status the kubelet reports for the Pod now, based on its current status (conditions of other
// writers and transition times are kept).
func (w *podWorker) podStatus(pod *corev1.Pod) *corev1.PodStatus {
	st := pod.Status.DeepCopy()
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	w.mu.Lock()
	defer w.mu.Unlock()
	st.Phase = w.phase()
	// Every container process runs on this host and shares its loopback: that is the host and the Pod IP.
	st.HostIP, st.PodIP = loopbackIP, loopbackIP
	st.HostIPs, st.PodIPs = []corev1.HostIP{{IP: loopbackIP}}, []corev1.PodIP{{IP: loopbackIP}}
	st.StartTime = &w.startTime
	st.InitContainerStatuses, st.ContainerStatuses = statuses(w.inits), statuses(w.ctrs)

	setCondition(st, corev1.PodReadyToStartContainers, true, "", "", now)
	var incomplete, unready []string
	for _, c := range w.inits {
		if t := c.status.State.Terminated; t == nil || t.ExitCode != 0 {
			incomplete = append(incomplete, c.spec.Name)
		}
	}
	for _, c := range w.ctrs {
		if !c.status.Ready {
			unready = append(unready, c.spec.Name)
		}
	}
	if len(incomplete) > 0 {
		setCondition(st, corev1.PodInitialized, false, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: %v", incomplete), now)
	} else {
		setCondition(st, corev1.PodInitialized, true, "", "", now)
	}
	readyReason, readyMessage := "", ""
	switch {
	case st.Phase == corev1.PodSucceeded:
		readyReason = "PodCompleted"
	case len(unready) > 0:
		readyReason, readyMessage = "ContainersNotReady", fmt.Sprintf("containers with unready status: %v", unready)
	}
	setCondition(st, corev1.ContainersReady, readyReason == "", readyReason, readyMessage, now)
	// Ready also waits for the Pod's readiness gates, conditions other controllers set.
	for _, gate := range pod.Spec.ReadinessGates {
		if readyReason == "" && !slices.ContainsFunc(st.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == gate.ConditionType && c.Status == corev1.ConditionTrue
		}) {
			readyReason, readyMessage = "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", gate.ConditionType)
		}
	}
	setCondition(st, corev1.PodReady, readyReason == "", readyReason, readyMessage, now)
	return st
}

// phase is the Pod's phase as the kubelet computes it from its containers' states.
func (w *podWorker) phase() corev1.PodPhase {
	policy := w.pod.Spec.RestartPolicy
	for _, c := range w.inits {
		if t := c.status.State.Terminated; t != nil && t.ExitCode != 0 && policy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
	}
	if !w.initDone {
		return corev1.PodPending
	}
	var running, waiting, stopped, succeeded int
	for _, c := range w.ctrs {
		switch s := c.status.State; {
		case s.Running != nil:
			running++
		case s.Terminated != nil:
			stopped++
			if s.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.status.LastTerminationState.Terminated != nil:
			stopped++ // waiting to be restarted
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0, policy == corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case succeeded == len(w.ctrs):
		return corev1.PodSucceeded
	case policy == corev1.RestartPolicyOnFailure:
		return corev1.PodRunning
	}
	return corev1.PodFailed
}

func statuses(cs []*container) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, *c.status.DeepCopy())
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// setCondition sets a Pod condition, keeping its transition time while its status stays the same.
func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, status bool, reason, message string, now metav1.Time) {
	s := corev1.ConditionFalse
	if status {
		s = corev1.ConditionTrue
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == t {
			if c.Status != s {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message = s, reason, message
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: message, LastTransitionTime: now})
}

// serviceAccountName is the Pod's ServiceAccount; the apiserver sets "default" when the Pod names none, but
// envtest turns that admission plugin off.
func serviceAccountName(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// containerEnv resolves a container's environment as the kubelet does: the envFrom sources in order, then env in
// order, each value with "$(VAR)" expanded from the variables before it; a later variable replaces an earlier
// one. ConfigMaps and Secrets are read from the API; a missing one (or key) is skipped when optional and an error
// otherwise. It returns the names in order and the values.
func (k *kubelet) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, map[string]string, error) {
	var names []string
	vars := map[string]string{}
	set := func(name, value string) {
		if _, ok := vars[name]; !ok {
			names = append(names, name)
		}
		vars[name] = value
	}
	r := &envReader{cs: k.cs, namespace: pod.Namespace, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, from := range c.EnvFrom {
		data, err := r.envFrom(ctx, from)
		if err != nil {
			return nil, nil, err
		}
		for _, key := range slices.Sorted(maps.Keys(data)) {
			set(from.Prefix+key, data[key])
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := r.valueFrom(ctx, pod, e.ValueFrom)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	return names, vars, nil
}

// envReader reads the ConfigMaps and Secrets of a container's environment, each once.
type envReader struct {
	cs         kubernetes.Interface
	namespace  string
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func (r *envReader) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if cm, ok := r.configMaps[name]; ok {
		return cm, nil
	}
	cm, err := r.cs.CoreV1().ConfigMaps(r.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configmap %q: %w", name, err)
	}
	r.configMaps[name] = cm
	return cm, nil
}

func (r *envReader) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := r.secrets[name]; ok {
		return s, nil
	}
	s, err := r.cs.CoreV1().Secrets(r.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	r.secrets[name] = s
	return s, nil
}

// envFrom returns the variables of an envFrom source, without its prefix.
func (r *envReader) envFrom(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := r.configMap(ctx, from.ConfigMapRef.Name)
		if err != nil {
			return nil, optional(from.ConfigMapRef.Optional, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := r.secret(ctx, from.SecretRef.Name)
		if err != nil {
			return nil, optional(from.SecretRef.Optional, err)
		}
		data := make(map[string]string, len(s.Data))
		for key, v := range s.Data {
			data[key] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

// valueFrom resolves a variable's valueFrom; ok is false when an optional source is missing.
func (r *envReader) valueFrom(ctx context.Context, pod *corev1.Pod, from *corev1.EnvVarSource) (value string, ok bool, err error) {
	switch {
	case from.FieldRef != nil:
		value, err = fieldValue(pod, from.FieldRef.FieldPath)
		return value, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := r.configMap(ctx, ref.Name)
		if err == nil {
			if value, ok = cm.Data[ref.Key]; ok {
				return value, true, nil
			}
			err = apierrors.NewNotFound(corev1.Resource("configmaps"), ref.Name+"["+ref.Key+"]")
		}
		return "", false, optional(ref.Optional, err)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := r.secret(ctx, ref.Name)
		if err == nil {
			var data []byte
			if data, ok = s.Data[ref.Key]; ok {
				return string(data), true, nil
			}
			err = apierrors.NewNotFound(corev1.Resource("secrets"), ref.Name+"["+ref.Key+"]")
		}
		return "", false, optional(ref.Optional, err)
	}
	return "", false, errors.New("only value, fieldRef, configMapKeyRef and secretKeyRef are supported")
}

// optional drops the error of a missing source the container marks optional.
func optional(isOptional *bool, err error) error {
	if apierrors.IsNotFound(err) && isOptional != nil && *isOptional {
		return nil
	}
	return err
}

// fieldValue resolves a fieldRef of the downward API.
func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return serviceAccountName(pod), nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return loopbackIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(key, "']") {
			return m[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// expand replaces "$(VAR)" with the value of VAR as Kubernetes does in env values, commands and arguments: an
// unknown variable is left as written, "$$" is an escaped "$".
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// PodAddress returns 127.0.0.1:<port> where the running process of a Pod serves containerPort: the port it was
// moved to (overrides.go), or the container port itself. It fails unless a container of the Pod runs as a local
// process and declares or was given that port.
func (e *Env) PodAddress(ctx context.Context, namespace, pod string, containerPort int32) (string, error) {
	current, err := e.kubelet.cs.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	k := e.kubelet
	k.mu.Lock()
	w := k.workers[namespace+"/"+pod]
	k.mu.Unlock()
	if w == nil || w.uid != current.UID {
		return "", fmt.Errorf("pod %s/%s does not run here", namespace, pod)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range slices.Concat(w.inits, w.ctrs) {
		if c.proc == nil || c.proc.exited() {
			continue
		}
		if hostPort, ok := c.ports[containerPort]; ok {
			return loopback(hostPort), nil
		}
		if slices.ContainsFunc(c.spec.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == containerPort }) {
			return loopback(int(containerPort)), nil
		}
	}
	return "", fmt.Errorf("no running process of pod %s/%s serves container port %d", namespace, pod, containerPort)
}

// Processes lists the running container processes as "<namespace>/<pod>/<container> pid=<pid> <binary>", sorted.
func (e *Env) Processes() []string {
	k := e.kubelet
	k.mu.Lock()
	workers := slices.Collect(maps.Values(k.workers))
	k.mu.Unlock()
	var out []string
	for _, w := range workers {
		w.mu.Lock()
		for _, c := range slices.Concat(w.inits, w.ctrs) {
			if c.proc != nil && !c.proc.exited() {
				out = append(out, fmt.Sprintf("%s/%s pid=%d %s", w.key, c.spec.Name, c.proc.cmd.Process.Pid, c.bin))
			}
		}
		w.mu.Unlock()
	}
	slices.Sort(out)
	return out
}
