#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/corpus/<target>/ (not committed).

Seeds exercise the constructs the readers must bound or refuse: PAX and GNU long-name headers,
GNU sparse members, whiteouts, hardlinks, `a/../b` names, OCI layouts in an archive, and small
Debian tracker and NVD records (taken from ../shared/data when it is there).
"""
import gzip, hashlib, io, json, os, sys, tarfile

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "..", "corpus")
shared = os.path.join(here, "..", "..", "..", "shared", "data")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def reg(name, data=b"x"):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    return i, data


def link(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.linkname = target
    return i, None


status = b"Package: bsdutils\nStatus: install ok installed\nVersion: 1:2.38.1-5+deb12u3\nSource: util-linux (2.38.1-5+deb12u3)\nArchitecture: amd64\n\n"
layers = {
    "pax": tar_bytes([reg("var/lib/dpkg/status", status), reg("a" * 300, b"long")], tarfile.PAX_FORMAT),
    "gnu": tar_bytes([reg("usr/" + "b" * 200 + "/f", b"gnu"), link("l" * 150, "t" * 150)], tarfile.GNU_FORMAT),
    "whiteout": tar_bytes([reg("etc/os-release", b"ID=debian\n"), reg("etc/.wh.passwd", b""), reg(".wh..wh..opq", b"")]),
    "hardlink": tar_bytes([reg("bin/a", b"\x7fELF"), link("bin/b", "bin/a", tarfile.LNKTYPE), reg("x/../bin/c", b"c")]),
}
for name, data in layers.items():
    put("sbom_layer", name + ".tar", data)
    put("sbom_layer", name + ".tar.gz", gzip.compress(data, mtime=0))

# An OCI layout in an archive (oci-archive:), one layer.
layer = gzip.compress(layers["pax"], mtime=0)
diff_id = "sha256:" + hashlib.sha256(layers["pax"]).hexdigest()
blobs = {}
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    blobs[h] = b
    return {"digest": "sha256:" + h, "size": len(b)}
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
ld = blob(layer); ld["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
cd = blob(config); cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd, "layers": [ld, ld]}).encode()
md = blob(manifest); md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
index = json.dumps({"schemaVersion": 2, "manifests": [md]}).encode()
members = [reg("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), reg("index.json", index)]
members += [reg("blobs/sha256/" + h, b) for h, b in blobs.items()]
put("oci_archive", "layout.tar", tar_bytes(members))
# docker-archive: manifest.json + config + layer tar
dl = "layer.tar"
dconf = config
members = [reg("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["x:1"], "Layers": [dl]}]).encode()),
           reg("config.json", dconf), reg(dl, layers["pax"])]
put("oci_archive", "docker.tar", tar_bytes(members))

# Feeds: small real records when the shared data is there, else tiny hand-made ones.
put("debian_tracker", "min.json", json.dumps({"util-linux": {"CVE-2024-28085": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "2.38.1-5+deb12u1", "urgency": "not yet assigned", "repositories": {"bookworm": "2.38.1-5+deb12u3"}}}}}}).encode())
put("nvd", "min.json", json.dumps({"vulnerabilities": [{"cve": {"id": "CVE-2021-23017", "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": True, "criteria": "cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*", "versionStartIncluding": "0.6.18", "versionEndExcluding": "1.20.1"}]}]}], "metrics": {}}}]}).encode())
put("sbom_cyclonedx", "min.json", json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "bsdutils", "version": "1:2.38.1-5+deb12u3", "purl": "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&upstream=util-linux%402.38.1-5%2Bdeb12u3&distro=debian-12"}]}).encode())
print("seeds written under", os.path.normpath(corpus))
