"""PyKMIP's ProxyKmipClient against a running Sovereign KMS: the object
lifecycle a KMIP client walks through, printed as JSON lines for the Rust
test to check.

usage: client.py HOST PORT CA CERT KEY VERSION [USERNAME PASSWORD]
VERSION: 1.1, 1.2, 1.4 or 2.0. CERT/KEY may be '-' for none.
"""
import json
import sys

from kmip import enums
from kmip.pie import client, objects


def main():
    host, port, ca, cert, key, version = sys.argv[1:7]
    username = sys.argv[7] if len(sys.argv) > 7 else None
    password = sys.argv[8] if len(sys.argv) > 8 else None
    kv = {
        "1.1": enums.KMIPVersion.KMIP_1_1,
        "1.2": enums.KMIPVersion.KMIP_1_2,
        "1.4": enums.KMIPVersion.KMIP_1_4,
        "2.0": enums.KMIPVersion.KMIP_2_0,
    }[version]
    c = client.ProxyKmipClient(
        hostname=host,
        port=int(port),
        ca=ca,
        cert=None if cert == "-" else cert,
        key=None if key == "-" else key,
        username=username,
        password=password,
        kmip_version=kv,
        config_file="/dev/null",
    )
    out = {}
    with c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256, name="pykmip-" + version)
        out["create"] = uid
        key_obj = c.get(uid)
        out["get_len"] = len(key_obj.value)
        out["get_alg"] = key_obj.cryptographic_algorithm.name
        attrs = c.get_attributes(uid, ["State", "Cryptographic Length"])
        out["attributes"] = {
            a.attribute_name.value: str(a.attribute_value.value) for a in attrs[1]
        }
        out["attribute_list"] = sorted(c.get_attribute_list(uid))
        reg = objects.SecretData(b"\x01" * 16, enums.SecretDataType.PASSWORD, name="pw-" + version)
        rid = c.register(reg)
        out["register"] = rid
        out["get_secret"] = c.get(rid).value.hex()
        out["locate"] = sorted(c.locate(attributes=[]))
        c.activate(uid)
        out["state_after_activate"] = str(c.get_attributes(uid, ["State"])[1][0].attribute_value.value)
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        c.destroy(uid)
        c.destroy(rid)
        try:
            c.get(uid)
            out["get_after_destroy"] = "ok"
        except Exception as e:  # noqa: BLE001 - we report what the server answered
            out["get_after_destroy"] = type(e).__name__ + ": " + str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
