"""PyKMIP's ProxyKmipClient creates one AES-256 key, as vCenter does when a
VM is encrypted, and prints its Unique Identifier.

usage: create_key.py HOST PORT CA USERNAME PASSWORD NAME
"""
import sys

from kmip import enums
from kmip.pie import client


def main():
    host, port, ca, username, password, name = sys.argv[1:7]
    c = client.ProxyKmipClient(
        hostname=host,
        port=int(port),
        ca=ca,
        username=username,
        password=password,
        kmip_version=enums.KMIPVersion.KMIP_1_2,
        config_file="/dev/null",
    )
    with c:
        print(c.create(enums.CryptographicAlgorithm.AES, 256, name=name))


if __name__ == "__main__":
    main()
