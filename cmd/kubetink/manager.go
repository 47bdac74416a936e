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

package main

import (
	"fmt"
	"net/http"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/controller"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/scheme"
	"github.com/kubetink/kubetink/internal/version"
)

const controllerName = "kubetink"

// managerOptions are the flags of "kubetink manager".
type managerOptions struct {
	kubeconfig      string
	kubeAPIQPS      float32
	kubeAPIBurst    int
	metricsAddr     string
	healthAddr      string
	pprofAddr       string
	leaderElection  leaderelection.Options
	logOptions      logger.Options
	rateLimiter     fluxcontroller.RateLimiterOptions
	gracefulTimeout time.Duration
	concurrent      int
	requeueDep      time.Duration
	watchSelector   string
	migrationImage  string
	leaderElectNS   string
	policy          policy.Settings
}

func newManagerCommand() *cobra.Command {
	o := &managerOptions{}
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the Kubetink controller manager",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runManager(o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; defaults to $KUBECONFIG, then the in-cluster config.")
	// The limits apply to each kind on its own (controller-runtime gives every kind its own REST client); the
	// apiserver's priority and fairness protects it. A site takes about 4 requests on the Tinkerbell kind while it
	// installs: 100 per second lets the manager bring up 1000 sites a minute without waiting on the limits.
	fs.Float32Var(&o.kubeAPIQPS, "kube-api-qps", 100, "Maximum queries per second to the Kubernetes API, per kind; negative means no limit.")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 300, "Maximum burst of requests to the Kubernetes API, per kind.")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.healthAddr, "health-addr", ":9440", "Address the /healthz and /readyz probes bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", "Address the Go profiler (/debug/pprof) binds to, e.g. 127.0.0.1:6060; empty disables it.")
	fs.DurationVar(&o.gracefulTimeout, "graceful-shutdown-timeout", 30*time.Second, "How long running reconciliations may take to finish on shutdown.")
	// A pass is a handful of round trips to the apiserver, one after the other, and little CPU: at 4 the workers,
	// not the apiserver, set the pace of a thousand sites (test/scale).
	fs.IntVar(&o.concurrent, "concurrent", 16, "Number of Tinkerbell objects reconciled at the same time.")
	fs.DurationVar(&o.requeueDep, "requeue-dependency", 10*time.Second, "How long to wait before looking again at generated objects that are not ready; their watches usually act sooner.")
	fs.StringVar(&o.watchSelector, "watch-label-selector", "", "Only reconcile Tinkerbell objects matching this label selector, e.g. 'kubetink.io/shard=a'.")
	fs.StringVar(&o.migrationImage, "migration-image", "ghcr.io/kubetink/kubetink:"+version.Version, "Image of the migration Jobs (Kubetink's own; its entrypoint must be the kubetink binary).")
	fs.StringVar(&o.leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's own namespace when running in a cluster.")
	o.policy.BindFlags(fs)
	o.leaderElection.BindFlags(fs)
	o.logOptions.BindFlags(fs)
	o.rateLimiter.BindFlags(fs)
	return cmd
}

func restConfig(o *managerOptions) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the Kubernetes client config: %w", err)
	}
	cfg.QPS, cfg.Burst = o.kubeAPIQPS, o.kubeAPIBurst
	cfg.UserAgent = controllerName + "/" + version.Version
	return cfg, nil
}

func runManager(o *managerOptions) error {
	log := logger.NewLogger(o.logOptions)
	ctrl.SetLogger(log)
	log = log.WithName("setup")
	if err := validatePolicy(o.policy); err != nil {
		return err
	}

	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	// rest_client_rate_limiter_duration_seconds: the time requests wait for --kube-api-qps and --kube-api-burst,
	// which says when those limits, rather than the apiserver, set the pace.
	crmetrics.RegisterRESTClientMetrics(crmetrics.MetricRateLimiterLatency)
	// One REST mapper for the manager and the cache options, which ask what the apiserver serves.
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("failed to create the HTTP client: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return fmt.Errorf("failed to create the REST mapper: %w", err)
	}
	s := scheme.New()
	selector, err := watchSelector(o.watchSelector)
	if err != nil {
		return err
	}
	cacheOpts := cacheOptions(selector, servedBy(s, mapper))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: s,
		MapperProvider: func(*rest.Config, *http.Client) (apimeta.RESTMapper, error) {
			return mapper, nil
		},
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:        o.healthAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElection.Enable,
		LeaderElectionID:              leaderelection.GenerateID(controllerName+"-leader-election", ""),
		LeaderElectionNamespace:       o.leaderElectNS,
		LeaderElectionReleaseOnCancel: o.leaderElection.ReleaseOnCancel,
		LeaseDuration:                 &o.leaderElection.LeaseDuration,
		RenewDeadline:                 &o.leaderElection.RenewDeadline,
		RetryPeriod:                   &o.leaderElection.RetryPeriod,
		GracefulShutdownTimeout:       &o.gracefulTimeout,
	})
	if err != nil {
		return fmt.Errorf("failed to create the controller manager: %w", err)
	}
	probes.SetupChecks(mgr, log)
	// Ready only once the informer caches have synced, so a rollout never routes to a blind replica.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("failed to add the readiness check: %w", err)
	}

	ctx := ctrl.SetupSignalHandler()
	reconciler := &controller.TinkerbellReconciler{
		Client:                    mgr.GetClient(),
		APIReader:                 mgr.GetAPIReader(),
		EventRecorder:             mgr.GetEventRecorder(controllerName),
		ControllerName:            controllerName,
		DependencyRequeueInterval: o.requeueDep,
		MigrationImage:            o.migrationImage,
		Policy:                    o.policy,
		Selector:                  selector,
	}
	if err := reconciler.SetupWithManager(ctx, mgr, controller.TinkerbellReconcilerOptions{
		MaxConcurrentReconciles: o.concurrent,
		RateLimiter:             fluxcontroller.GetRateLimiter(o.rateLimiter),
	}); err != nil {
		return fmt.Errorf("failed to set up the Tinkerbell controller: %w", err)
	}

	log.Info("starting manager", "version", version.Version)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager stopped with an error: %w", err)
	}
	log.Info("manager stopped")
	return nil
}

// cacheOptions keeps the informer caches small: no managedFields anywhere, no Node status (image lists are
// large and unused), of the kinds Kubetink generates only its own objects, and only the Tinkerbells matching
// the watch selector.
//
// The selection of Kubetink's own objects applies to the kinds the apiserver serves when the manager starts:
// controller-runtime resolves every kind it is given settings for up front. An engine installed later (Argo CD
// added to a Flux cluster) is watched once a Tinkerbell uses it, but with a cache of all its objects until the
// next restart of Kubetink.
func cacheOptions(watchSelector labels.Selector, served func(client.Object) bool) cache.Options {
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}: {Transform: func(in any) (any, error) {
				if node, ok := in.(*corev1.Node); ok {
					node.ManagedFields = nil
					node.Status = corev1.NodeStatus{}
				}
				return in, nil
			}},
		},
	}
	own := labels.SelectorFromSet(labels.Set{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy})
	for _, obj := range controller.OwnedKinds() {
		if served(obj) {
			opts.ByObject[obj] = cache.ByObject{Label: own}
		}
	}
	if watchSelector != nil {
		opts.ByObject[&kubetinkv1alpha1.Tinkerbell{}] = cache.ByObject{Label: watchSelector}
	}
	return opts
}

// watchSelector parses --watch-label-selector; nil when it is empty.
func watchSelector(s string) (labels.Selector, error) {
	if s == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --watch-label-selector: %w", err)
	}
	return sel, nil
}

// servedBy returns whether the apiserver serves an object's kind, by the REST mapper; any error means no.
func servedBy(s *runtime.Scheme, mapper apimeta.RESTMapper) func(client.Object) bool {
	return func(obj client.Object) bool {
		gvk, err := apiutil.GVKForObject(obj, s)
		if err != nil {
			return false
		}
		_, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		return err == nil
	}
}
