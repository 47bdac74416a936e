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
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// jobRunner stands in for the Job controller and the kubelet, which this control plane does not run: it runs
// the container of each new Job as a local process (the image is mapped to a local binary), as the Job's
// ServiceAccount (the process gets a kubeconfig impersonating it, so RBAC applies), and writes the Job status
// the Job controller would write: started, then Complete or Failed after backoffLimit retries.
type jobRunner struct {
	client     client.Client
	images     map[string]string // image -> local binary
	adminKube  []byte
	workDir    string
	logf       func(format string, args ...any)
	mu         sync.Mutex
	started    map[types.UID]bool
	wg         sync.WaitGroup
	pollPeriod time.Duration
}

func (r *jobRunner) run(ctx context.Context) {
	ticker := time.NewTicker(r.pollPeriod)
	defer ticker.Stop()
	for {
		jobs := &batchv1.JobList{}
		if err := r.client.List(ctx, jobs); err == nil {
			for i := range jobs.Items {
				r.maybeStart(ctx, &jobs.Items[i])
			}
		}
		select {
		case <-ctx.Done():
			r.wg.Wait()
			return
		case <-ticker.C:
		}
	}
}

func (r *jobRunner) maybeStart(ctx context.Context, job *batchv1.Job) {
	if finished(job) || job.Spec.Suspend != nil && *job.Spec.Suspend {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started[job.UID] {
		return
	}
	r.started[job.UID] = true
	r.wg.Go(func() {
		if err := r.runJob(ctx, job.DeepCopy()); err != nil && ctx.Err() == nil {
			r.logf("job runner: Job %s/%s: %v", job.Namespace, job.Name, err)
		}
	})
}

func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (r *jobRunner) runJob(ctx context.Context, job *batchv1.Job) error {
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) > 0 {
		return fmt.Errorf("only Jobs with one container are supported")
	}
	c := spec.Containers[0]
	bin, ok := r.images[c.Image]
	if !ok {
		return r.fail(ctx, job, 0, "ImagePullBackOff", fmt.Sprintf("image %q is not mapped to a local binary", c.Image))
	}
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	kubeconfig := filepath.Join(r.workDir, fmt.Sprintf("job-%s-%s.kubeconfig", job.Namespace, job.Name))
	if err := writeImpersonatingKubeconfig(r.adminKube, serviceAccountUser(job.Namespace, sa), kubeconfig); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	start := metav1.Now()
	if err := r.patchStatus(ctx, job, func(s *batchv1.JobStatus) {
		s.StartTime = &start
		s.Active = 1
		s.Ready = new(int32(0))
		s.Terminating = new(int32(0))
	}); err != nil {
		return err
	}

	deadline := 10 * time.Minute
	if job.Spec.ActiveDeadlineSeconds != nil {
		deadline = time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second
	}
	attempts := int32(7) // the Job API's default backoffLimit is 6
	if job.Spec.BackoffLimit != nil {
		attempts = *job.Spec.BackoffLimit + 1
	}
	var lastErr error
	for attempt := int32(1); attempt <= attempts; attempt++ {
		argv := append(append([]string{}, c.Command...), c.Args...)
		if len(c.Command) == 0 {
			argv = append([]string{bin}, c.Args...)
		} else if argv[0] == c.Image || filepath.Base(argv[0]) == filepath.Base(bin) {
			argv[0] = bin
		}
		r.logf("job runner: Job %s/%s attempt %d/%d as %s: %s", job.Namespace, job.Name, attempt, attempts,
			serviceAccountUser(job.Namespace, sa), strings.Join(argv, " "))
		out, err := r.exec(ctx, argv, c.Env, kubeconfig, deadline-time.Since(start.Time))
		r.logf("job runner: Job %s/%s output:\n%s", job.Namespace, job.Name, indent(out))
		if err == nil {
			now := metav1.Now()
			return r.patchStatus(ctx, job, func(s *batchv1.JobStatus) {
				s.Active, s.Succeeded, s.Failed = 0, 1, attempt-1
				s.Ready = new(int32(0))
				s.CompletionTime = &now
				s.Conditions = append(s.Conditions,
					jobCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods"),
					jobCondition(batchv1.JobComplete, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods"))
			})
		}
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start.Time) >= deadline {
			return r.fail(ctx, job, attempt, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline")
		}
	}
	r.logf("job runner: Job %s/%s failed: %v", job.Namespace, job.Name, lastErr)
	return r.fail(ctx, job, attempts, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
}

func (r *jobRunner) exec(ctx context.Context, argv []string, env []corev1.EnvVar, kubeconfig string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"HOME=" + r.workDir, "PATH=/usr/bin:/bin", "KUBECONFIG=" + kubeconfig}
	for _, e := range env {
		if e.ValueFrom == nil {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
	}
	cmd.Dir = r.workDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (r *jobRunner) fail(ctx context.Context, job *batchv1.Job, failed int32, reason, message string) error {
	return r.patchStatus(ctx, job, func(s *batchv1.JobStatus) {
		if s.StartTime == nil {
			now := metav1.Now()
			s.StartTime = &now
		}
		s.Active, s.Failed = 0, failed
		s.Ready = new(int32(0))
		s.Conditions = append(s.Conditions,
			jobCondition(batchv1.JobFailureTarget, reason, message),
			jobCondition(batchv1.JobFailed, reason, message))
	})
}

func (r *jobRunner) patchStatus(ctx context.Context, job *batchv1.Job, mutate func(*batchv1.JobStatus)) error {
	base := job.DeepCopy()
	mutate(&job.Status)
	if err := r.client.Status().Patch(ctx, job, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to write the Job status: %w", err)
	}
	return nil
}

func jobCondition(t batchv1.JobConditionType, reason, message string) batchv1.JobCondition {
	now := metav1.Now()
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: now, LastTransitionTime: now}
}

func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
