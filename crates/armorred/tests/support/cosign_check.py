"""Independent check of cosign-format keys and signatures (Python `cryptography` + PyNaCl).

  cosign_check.py pubkey KEYFILE PASSWORD          -> prints the PEM public key of an encrypted key file
  cosign_check.py verify PUBFILE MESSAGE_FILE SIG_B64 -> exit 0 when the ECDSA P-256 SHA-256 DER signature verifies
  cosign_check.py dsse PUBFILE ENVELOPE_FILE       -> exit 0 when a DSSE envelope's signature (PAE) verifies
  cosign_check.py bundle PUBFILE|- BUNDLE_FILE     -> exit 0 when a Sigstore bundle's DSSE signature verifies
                                                    (with the key, or with `-` the bundle's certificate key)
"""
import base64
import hashlib
import json
import sys

import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec


def decrypt(path, password):
    lines = open(path).read().strip().splitlines()
    assert lines[0] in ("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----"), lines[0]
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    kdf = doc["kdf"]
    assert kdf["name"] == "scrypt" and doc["cipher"]["name"] == "nacl/secretbox"
    p = kdf["params"]
    key = hashlib.scrypt(password.encode(), salt=base64.b64decode(kdf["salt"]), n=p["N"], r=p["r"], p=p["p"], dklen=32, maxmem=1 << 30)
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, password=None)


def verify(pub_path, message, sig, pub=None):
    if pub is None:
        pub = serialization.load_pem_public_key(open(pub_path, "rb").read())
    pub.verify(sig, message, ec.ECDSA(hashes.SHA256()))


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def main():
    cmd = sys.argv[1]
    if cmd == "pubkey":
        key = decrypt(sys.argv[2], sys.argv[3])
        sys.stdout.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    elif cmd == "verify":
        verify(sys.argv[2], open(sys.argv[3], "rb").read(), base64.b64decode(sys.argv[4]))
    elif cmd == "dsse":
        env = json.load(open(sys.argv[3]))
        payload = base64.b64decode(env["payload"])
        verify(sys.argv[2], pae(env["payloadType"], payload), base64.b64decode(env["signatures"][0]["sig"]))
    elif cmd == "bundle":
        b = json.load(open(sys.argv[3]))
        assert b["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json", b["mediaType"]
        env = b["dsseEnvelope"]
        pub = None
        if sys.argv[2] == "-":
            pub = x509.load_der_x509_certificate(base64.b64decode(b["verificationMaterial"]["certificate"]["rawBytes"])).public_key()
        payload = base64.b64decode(env["payload"])
        verify(sys.argv[2], pae(env["payloadType"], payload), base64.b64decode(env["signatures"][0]["sig"]), pub)
    else:
        sys.exit("unknown command " + cmd)


main()
