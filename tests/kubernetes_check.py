#!/usr/bin/env python3
"""Offline check of deploy/kubernetes against the real binaries.

    kubernetes_check.py SOURCE_DIR SERVER CLI

Every file of the kustomization parses; every volume, Secret, ConfigMap,
port and probe a manifest names exists; selectors match the pod's labels;
the container runs as a non-root user on a read-only root; its image tag is
the server's version, and every flag it passes is one the server accepts;
the configuration in the ConfigMap passes `cohortlink-server --check-config`
(with its files made by our keys code), and each file it names is a key of
the volume mounted there. Exit 77 (skipped) without python3-yaml.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("no python3-yaml: skipped")
    sys.exit(77)

src, server, cli = sys.argv[1:4]
kdir = os.path.join(src, "deploy", "kubernetes")
problems = []


def fail(msg):
    problems.append(msg)


with open(os.path.join(kdir, "kustomization.yaml")) as f:
    kustomization = yaml.safe_load(f)
docs = []
for res in kustomization["resources"]:
    path = os.path.join(kdir, res)
    if not os.path.exists(path):
        fail(f"kustomization names {res}, which does not exist")
        continue
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if d is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in d:
                    fail(f"{res}: a document without {key}")
            docs.append((res, d))
by_kind = {}
for res, d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d


def one(kind):
    items = list(by_kind.get(kind, {}).values())
    if len(items) != 1:
        fail(f"expected one {kind}, found {len(items)}")
        return {}
    return items[0]


sts = one("StatefulSet")
pod = sts["spec"]["template"]
labels = pod["metadata"]["labels"]


def matches(selector, what):
    for k, v in selector.items():
        if labels.get(k) != v:
            fail(f"{what}: selector {k}={v} does not match the pod's labels")


matches(sts["spec"]["selector"]["matchLabels"], "StatefulSet")
if sts["spec"]["serviceName"] not in by_kind.get("Service", {}):
    fail(f"serviceName {sts['spec']['serviceName']} is not a Service")
if sts["spec"].get("replicas") != 1:
    fail("the server is a single writer: replicas must be 1")

containers = pod["spec"]["containers"]
if len(containers) != 1:
    fail("expected one container")
c = containers[0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}


def port_of(ref, what):
    if isinstance(ref, int):
        if ref not in ports.values():
            fail(f"{what}: port {ref} is not a container port")
        return ref
    if ref not in ports:
        fail(f"{what}: port name {ref} is not a container port")
        return None
    return ports[ref]


for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
    p = c.get(probe)
    if p is None:
        fail(f"no {probe}")
        continue
    kind = next(iter(k for k in ("grpc", "httpGet", "tcpSocket") if k in p))
    port_of(p[kind]["port"], probe)
if c["livenessProbe"]["grpc"].get("service") != "liveness":
    fail("the liveness probe must ask the liveness service")
if c["readinessProbe"]["grpc"].get("service") != "readiness":
    fail("the readiness probe must ask the readiness service")

res = c.get("resources", {})
for k in ("cpu", "memory"):
    if k not in res.get("requests", {}):
        fail(f"no {k} request")
if "memory" not in res.get("limits", {}):
    fail("no memory limit")
sc = c.get("securityContext", {})
psc = pod["spec"].get("securityContext", {})
if not psc.get("runAsNonRoot") or not psc.get("runAsUser"):
    fail("the pod must run as a non-root user")
if sc.get("readOnlyRootFilesystem") is not True:
    fail("the root file system must be read-only")
if sc.get("allowPrivilegeEscalation") is not False:
    fail("privilege escalation must be off")
if sc.get("capabilities", {}).get("drop") != ["ALL"]:
    fail("capabilities must all be dropped")

# Volumes: every mount has a volume; every volume's source exists.
volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
claims = {t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])}
mounts = {}
for m in c["volumeMounts"]:
    if m["name"] not in volumes and m["name"] not in claims:
        fail(f"volumeMount {m['name']} has no volume")
    mounts[m["mountPath"]] = m["name"]
for name, v in volumes.items():
    if "secret" in v and v["secret"]["secretName"] not in by_kind.get("Secret", {}):
        fail(f"volume {name}: no Secret {v['secret']['secretName']}")
    if "configMap" in v and v["configMap"]["name"] not in by_kind.get("ConfigMap", {}):
        fail(f"volume {name}: no ConfigMap {v['configMap']['name']}")


def keys_of(volume_name):
    v = volumes.get(volume_name, {})
    if "secret" in v:
        d = by_kind["Secret"].get(v["secret"]["secretName"], {})
        return set(d.get("stringData", {})) | set(d.get("data", {}))
    if "configMap" in v:
        return set(by_kind["ConfigMap"].get(v["configMap"]["name"], {}).get("data", {}))
    return None


def file_in_mount(path, what):
    """The mounted volume holding `path` has it as a key (or is writable)."""
    base, name = os.path.split(path)
    if base in mounts:
        keys = keys_of(mounts[base])
        if keys is not None and name not in keys:
            fail(f"{what}: {path}: the volume at {base} has no key {name}")
        return
    if not any(path.startswith(mp + "/") for mp in mounts):
        fail(f"{what}: {path} is on no mounted volume")


# The server's flags: each is one --help lists; the image is its version.
helptext = subprocess.run([server, "--help"], capture_output=True, text=True).stdout
version = subprocess.run([server, "--version"], capture_output=True, text=True).stdout.split()[-1]
if c["image"].rsplit(":", 1)[-1] != version:
    fail(f"image {c['image']} is not version {version}")
args = c.get("args", [])
for a in args:
    if a.startswith("--") and not re.search(r"(^|\s)" + re.escape(a) + r"\b", helptext):
        fail(f"argument {a} is not a flag of cohortlink-server")
flag = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
data_dir = flag.get("--data-dir", "")
if not any(data_dir.startswith(mp + "/") and mounts[mp] in claims for mp in mounts):
    fail(f"--data-dir {data_dir} is not inside the persistent volume")
config_path = flag.get("--config")
if config_path is None:
    fail("no --config")
else:
    file_in_mount(config_path, "--config")
    cm = keys_of(mounts.get(os.path.dirname(config_path), "")) or set()
    name = os.path.basename(config_path)
    volume = volumes.get(mounts.get(os.path.dirname(config_path), ""), {})
    config_text = by_kind["ConfigMap"][volume["configMap"]["name"]]["data"][name]
    config = json.loads(config_text)
    # Listeners on the container's ports, probes on the health listener.
    for key, port_name in (("listen", "grpc"), ("health_listen", "health"),
                           ("metrics_listen", "metrics")):
        if int(config[key].rsplit(":", 1)[1]) != ports.get(port_name):
            fail(f"config {key} {config[key]} is not container port {port_name}")
    if c["readinessProbe"]["grpc"]["port"] != int(config["health_listen"].rsplit(":", 1)[1]):
        fail("the probes do not ask the health listener")
    for f in ("ca.pem", "cert.pem", "key.pem"):
        file_in_mount(os.path.join(config["tls_dir"], f), "tls_dir")
    for key in ("crl_file", "data_key_file", "signing_key_file"):
        file_in_mount(config[key], key)
    # The configuration itself, with its files made by our keys code.
    with tempfile.TemporaryDirectory() as tmp:
        def run(*cmd):
            r = subprocess.run(list(cmd), capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"{' '.join(cmd)}: {r.stderr.strip()}")
        run(cli, "keys", "ca", "init", "--dir", f"{tmp}/ca")
        run(cli, "keys", "issue", "--ca", f"{tmp}/ca", "--id",
            f"spiffe://{config['trust_domain']}/server/cohortlink",
            "--dns", "cohortlink", "--out", f"{tmp}/tls")
        run(cli, "keys", "revoke", "--ca", f"{tmp}/ca")
        run(cli, "keys", "secret", "--out", f"{tmp}/data.key")
        run(cli, "keys", "signing-key", "--out", f"{tmp}/signing.key")
        config.update(tls_dir=f"{tmp}/tls", crl_file=f"{tmp}/ca/crl.pem",
                      data_key_file=f"{tmp}/data.key",
                      signing_key_file=f"{tmp}/signing.key")
        with open(f"{tmp}/server.json", "w") as out:
            json.dump(config, out)
        run(server, "--check-config", f"{tmp}/server.json")

# The Service, the disruption budget and the network policy select the pod
# and name its ports.
for name, svc in by_kind.get("Service", {}).items():
    matches(svc["spec"]["selector"], f"Service {name}")
    for p in svc["spec"]["ports"]:
        port_of(p["targetPort"], f"Service {name}")
matches(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], "PodDisruptionBudget")
np = one("NetworkPolicy")
matches(np["spec"]["podSelector"]["matchLabels"], "NetworkPolicy")
for rule in np["spec"].get("ingress", []):
    for p in rule.get("ports", []):
        port_of(p["port"], "NetworkPolicy")

if problems:
    for p in problems:
        print("FAIL:", p)
    sys.exit(1)
print(f"ok: {len(docs)} documents in {len(kustomization['resources'])} files")
