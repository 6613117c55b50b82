"""Support bundles: everything a ticket needs to re-examine a pod, a request or a namespace offline — the JSON
reports, the cluster state they came from, proxy logs and config dumps of the window, captures — redacted and
written as one .tar.gz that `--snapshot` reads back. Layout and guarantees: docs/bundle.md."""

MANIFEST = "manifest.json"
KIND = "BundleManifest"
SNAPSHOT_DIR = "snapshot/"
