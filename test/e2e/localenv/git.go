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
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/cgi" //nolint:gosec // git-http-backend is a CGI program; httpoxy (G504) affects Go before 1.6.3 only
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gitServer serves the bare repositories under root over smart HTTP (git-http-backend as CGI) on 127.0.0.1.
type gitServer struct {
	root    string
	baseURL string
	server  *http.Server
}

func startGitServer(root string, logw io.Writer) (*gitServer, error) {
	execPath, err := gitOutput("", "--exec-path")
	if err != nil {
		return nil, fmt.Errorf("git is required: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(execPath), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git-http-backend not found: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cgiHandler := &cgi.Handler{
		Path:   backend,
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		Stderr: logw,
	}
	logger := log.New(logw, "git: ", log.LstdFlags)
	s := &gitServer{root: root, baseURL: "http://" + l.Addr().String()}
	s.server = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "..") {
				http.Error(w, "bad path", http.StatusBadRequest)
				return
			}
			logger.Printf("%s %s", r.Method, r.URL)
			cgiHandler.ServeHTTP(w, r)
		}),
	}
	go func() { _ = s.server.Serve(l) }()
	return s, nil
}

func (s *gitServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.server.Shutdown(ctx)
}

// Repo is a Git repository served by the local Git server. It is edited in a working clone and pushed, as a
// user would.
type Repo struct {
	// Name is the repository name without ".git".
	Name string
	// URL is the smart-HTTP URL Flux clones, http://127.0.0.1:<port>/<name>.git.
	URL string
	// Dir is the working clone.
	Dir string
}

func (s *gitServer) newRepo(name, workRoot string) (*Repo, error) {
	bare := filepath.Join(s.root, name+".git")
	r := &Repo{Name: name, URL: s.baseURL + "/" + name + ".git", Dir: filepath.Join(workRoot, name)}
	if _, err := gitOutput("", "init", "-q", "--bare", "-b", "main", bare); err != nil {
		return nil, err
	}
	if _, err := gitOutput("", "init", "-q", "-b", "main", r.Dir); err != nil {
		return nil, err
	}
	if _, err := gitOutput(r.Dir, "remote", "add", "origin", bare); err != nil {
		return nil, err
	}
	// A committer identity in the clone, so a user can commit and push there by hand (make demo).
	for _, kv := range [][2]string{{"user.name", "Kubetink demo"}, {"user.email", "demo@kubetink.invalid"}} {
		if _, err := gitOutput(r.Dir, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// WriteFile writes data to path (relative to the repository root), creating directories.
func (r *Repo) WriteFile(path string, data []byte) error {
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

// Remove deletes path (a file or directory) from the working clone.
func (r *Repo) Remove(path string) error {
	return os.RemoveAll(filepath.Join(r.Dir, filepath.FromSlash(path)))
}

// CopyFiles copies the files under srcDir, keeping their relative paths, into dstDir of the repository.
func (r *Repo) CopyFiles(srcDir, dstDir string) error {
	return filepath.WalkDir(srcDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(srcDir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path) //nolint:gosec // a directory of CRDs this program chose (G122)
		if err != nil {
			return err
		}
		return r.WriteFile(dstDir+"/"+filepath.ToSlash(rel), data)
	})
}

// Commit commits every change of the working clone and pushes it to main. It returns the commit SHA.
func (r *Repo) Commit(message string) (string, error) {
	if _, err := gitOutput(r.Dir, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := gitOutput(r.Dir, "commit", "-q", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := gitOutput(r.Dir, "push", "-q", "--set-upstream", "origin", "HEAD:main"); err != nil {
		return "", err
	}
	sha, err := gitOutput(r.Dir, "rev-parse", "HEAD")
	return strings.TrimSpace(sha), err
}

// Tag tags the last commit and pushes the tag.
func (r *Repo) Tag(tag string) error {
	if _, err := gitOutput(r.Dir, "tag", "-f", tag); err != nil {
		return err
	}
	_, err := gitOutput(r.Dir, "push", "-q", "-f", "origin", "refs/tags/"+tag)
	return err
}

// gitOutput runs git in dir, isolated from the user's and the system's Git configuration.
func gitOutput(dir string, args ...string) (string, error) {
	args = append([]string{
		"-c", "user.name=Kubetink e2e", "-c", "user.email=e2e@kubetink.invalid",
		"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main",
	}, args...)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args[10:], " "), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}
