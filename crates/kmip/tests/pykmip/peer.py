#!/usr/bin/env python3
"""PyKMIP (0.11.0) as a KMIP peer for `crates/kmip/tests/pykmip_peer.rs`.

Two modes (stdlib + pykmip only):

  peer.py requests
      Builds request messages with PyKMIP's own message classes and prints one
      JSON line per (message, version):
        {"name": ..., "version": "1.2", "hex": ...}
      or, when PyKMIP cannot encode that message in that version,
        {"name": ..., "version": "1.0", "error": "..."}

  peer.py decode-responses
      Reads JSON lines {"name": ..., "hex": ...} on stdin, decodes each with
      PyKMIP's ResponseMessage (the version comes from the message header) and
      prints one JSON line per input:
        {"name": ..., "ok": true, "error": null, "fields": {...}}
"""

import binascii
import enum
import json
import sys
import traceback

from kmip.core import attributes as cattrs
from kmip.core import enums
from kmip.core import objects
from kmip.core import primitives
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.factories.credentials import CredentialFactory
from kmip.core.messages import contents
from kmip.core.messages import messages
from kmip.core.messages import payloads
from kmip.core.utils import BytearrayStream
from kmip.pie import factory as pie_factory
from kmip.pie import objects as pie_objects

AF = AttributeFactory()
AT = enums.AttributeType

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}

# Fixed test data; the Rust side asserts on the same values.
KEY_128 = bytes(range(16))
CERT_DER = bytes.fromhex("3082010a0201003003060100")  # opaque bytes, not parsed
SECRET = b"s3cr3t-passw0rd"


def v2(version):
    return VERSIONS[version] >= enums.KMIPVersion.KMIP_2_0


# --- builders of request batch items ------------------------------------------------

def op(o):
    return contents.Operation(o)


def item(operation, payload, batch_id=None):
    return messages.RequestBatchItem(
        operation=op(operation),
        unique_batch_item_id=(contents.UniqueBatchItemID(batch_id)
                              if batch_id is not None else None),
        request_payload=payload,
    )


def aes_template(name="mykey", length=256, tag=enums.Tags.TEMPLATE_ATTRIBUTE):
    attrs = [
        AF.create_attribute(AT.CRYPTOGRAPHIC_ALGORITHM,
                            enums.CryptographicAlgorithm.AES),
        AF.create_attribute(AT.CRYPTOGRAPHIC_LENGTH, length),
        AF.create_attribute(AT.CRYPTOGRAPHIC_USAGE_MASK,
                            [enums.CryptographicUsageMask.ENCRYPT,
                             enums.CryptographicUsageMask.DECRYPT]),
    ]
    if name is not None:
        attrs.append(AF.create_attribute(AT.NAME, name))
    return objects.TemplateAttribute(attributes=attrs, tag=tag)


def b_discover_versions(version):
    pv = [contents.ProtocolVersion(2, 0), contents.ProtocolVersion(1, 4),
          contents.ProtocolVersion(1, 2), contents.ProtocolVersion(1, 1),
          contents.ProtocolVersion(1, 0)]
    return [item(enums.Operation.DISCOVER_VERSIONS,
                 payloads.DiscoverVersionsRequestPayload(protocol_versions=pv))]


def b_discover_versions_empty(version):
    return [item(enums.Operation.DISCOVER_VERSIONS,
                 payloads.DiscoverVersionsRequestPayload())]


def b_query(version):
    return [item(enums.Operation.QUERY, payloads.QueryRequestPayload(
        query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                         enums.QueryFunction.QUERY_OBJECTS,
                         enums.QueryFunction.QUERY_SERVER_INFORMATION]))]


def b_create(version):
    return [item(enums.Operation.CREATE, payloads.CreateRequestPayload(
        object_type=enums.ObjectType.SYMMETRIC_KEY,
        template_attribute=aes_template()))]


def b_create_key_pair(version):
    common = objects.TemplateAttribute(attributes=[
        AF.create_attribute(AT.CRYPTOGRAPHIC_ALGORITHM,
                            enums.CryptographicAlgorithm.RSA),
        AF.create_attribute(AT.CRYPTOGRAPHIC_LENGTH, 2048),
    ], tag=enums.Tags.COMMON_TEMPLATE_ATTRIBUTE)
    private = objects.TemplateAttribute(attributes=[
        AF.create_attribute(AT.NAME, "rsa-private"),
        AF.create_attribute(AT.CRYPTOGRAPHIC_USAGE_MASK,
                            [enums.CryptographicUsageMask.SIGN]),
    ], tag=enums.Tags.PRIVATE_KEY_TEMPLATE_ATTRIBUTE)
    public = objects.TemplateAttribute(attributes=[
        AF.create_attribute(AT.NAME, "rsa-public"),
        AF.create_attribute(AT.CRYPTOGRAPHIC_USAGE_MASK,
                            [enums.CryptographicUsageMask.VERIFY]),
    ], tag=enums.Tags.PUBLIC_KEY_TEMPLATE_ATTRIBUTE)
    return [item(enums.Operation.CREATE_KEY_PAIR,
                 payloads.CreateKeyPairRequestPayload(
                     common_template_attribute=common,
                     private_key_template_attribute=private,
                     public_key_template_attribute=public))]


def register(object_type, pie_obj, attrs):
    secret = pie_factory.ObjectFactory().convert(pie_obj)
    return [item(enums.Operation.REGISTER, payloads.RegisterRequestPayload(
        object_type=object_type,
        template_attribute=objects.TemplateAttribute(attributes=attrs),
        managed_object=secret))]


def b_register_symmetric_key(version):
    key = pie_objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128,
                                   KEY_128)
    return register(enums.ObjectType.SYMMETRIC_KEY, key, [
        AF.create_attribute(AT.CRYPTOGRAPHIC_USAGE_MASK,
                            [enums.CryptographicUsageMask.ENCRYPT,
                             enums.CryptographicUsageMask.DECRYPT]),
        AF.create_attribute(AT.NAME, "registered-key"),
    ])


def b_register_certificate(version):
    cert = pie_objects.X509Certificate(CERT_DER)
    return register(enums.ObjectType.CERTIFICATE, cert, [
        AF.create_attribute(AT.NAME, "my-cert"),
    ])


def b_register_secret_data(version):
    sd = pie_objects.SecretData(SECRET, enums.SecretDataType.PASSWORD)
    return register(enums.ObjectType.SECRET_DATA, sd, [
        AF.create_attribute(AT.CRYPTOGRAPHIC_USAGE_MASK,
                            [enums.CryptographicUsageMask.DERIVE_KEY]),
    ])


def b_get(version):
    return [item(enums.Operation.GET,
                 payloads.GetRequestPayload(unique_identifier="key-1"))]


def b_get_wrapped(version):
    kws = objects.KeyWrappingSpecification(
        wrapping_method=enums.WrappingMethod.ENCRYPT,
        encryption_key_information=objects.EncryptionKeyInformation(
            unique_identifier="wrap-1",
            cryptographic_parameters=cattrs.CryptographicParameters(
                block_cipher_mode=enums.BlockCipherMode.NIST_KEY_WRAP)),
        encoding_option=enums.EncodingOption.NO_ENCODING)
    return [item(enums.Operation.GET, payloads.GetRequestPayload(
        unique_identifier="key-1",
        key_format_type=enums.KeyFormatType.RAW,
        key_wrapping_specification=kws))]


def b_get_attributes(version):
    names = ["State", "Name", "Cryptographic Algorithm"]
    if not v2(version):
        names.append("x-Product_Version")
    return [item(enums.Operation.GET_ATTRIBUTES,
                 payloads.GetAttributesRequestPayload(
                     unique_identifier="key-1", attribute_names=names))]


def b_get_attribute_list(version):
    return [item(enums.Operation.GET_ATTRIBUTE_LIST,
                 payloads.GetAttributeListRequestPayload(
                     unique_identifier="key-1"))]


def b_locate(version):
    attrs = [
        AF.create_attribute(AT.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY),
        AF.create_attribute(AT.CRYPTOGRAPHIC_ALGORITHM,
                            enums.CryptographicAlgorithm.AES),
        AF.create_attribute(AT.NAME, "mykey"),
    ]
    return [item(enums.Operation.LOCATE, payloads.LocateRequestPayload(
        maximum_items=10, offset_items=2,
        storage_status_mask=enums.StorageStatusMask.ONLINE_STORAGE.value,
        object_group_member=enums.ObjectGroupMember.GROUP_MEMBER_DEFAULT,
        attributes=attrs))]


def uid_only(operation, cls, wrap=False):
    def build(version):
        uid = cattrs.UniqueIdentifier("key-1") if wrap else "key-1"
        return [item(operation, cls(unique_identifier=uid))]
    return build


def b_revoke(version):
    return [item(enums.Operation.REVOKE, payloads.RevokeRequestPayload(
        unique_identifier=cattrs.UniqueIdentifier("key-1"),
        revocation_reason=objects.RevocationReason(
            code=enums.RevocationReasonCode.KEY_COMPROMISE,
            message="leaked"),
        compromise_occurrence_date=primitives.DateTime(
            1700000000, tag=enums.Tags.COMPROMISE_OCCURRENCE_DATE)))]


def b_encrypt(version):
    return [item(enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
        unique_identifier="key-1",
        cryptographic_parameters=cattrs.CryptographicParameters(
            block_cipher_mode=enums.BlockCipherMode.CBC,
            padding_method=enums.PaddingMethod.PKCS5,
            cryptographic_algorithm=enums.CryptographicAlgorithm.AES),
        data=b"plaintext data",
        iv_counter_nonce=bytes(16)))]


def b_decrypt(version):
    return [item(enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
        unique_identifier="key-1",
        cryptographic_parameters=cattrs.CryptographicParameters(
            block_cipher_mode=enums.BlockCipherMode.GCM,
            cryptographic_algorithm=enums.CryptographicAlgorithm.AES,
            tag_length=16),
        data=b"\x01\x02\x03\x04",
        iv_counter_nonce=bytes(12),
        auth_additional_data=b"aad",
        auth_tag=bytes(16)))]


def b_sign(version):
    return [item(enums.Operation.SIGN, payloads.SignRequestPayload(
        unique_identifier="rsa-priv-1",
        cryptographic_parameters=cattrs.CryptographicParameters(
            padding_method=enums.PaddingMethod.PSS,
            digital_signature_algorithm=(
                enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION),
            cryptographic_algorithm=enums.CryptographicAlgorithm.RSA),
        data=b"message to sign"))]


def b_signature_verify(version):
    return [item(enums.Operation.SIGNATURE_VERIFY,
                 payloads.SignatureVerifyRequestPayload(
                     unique_identifier="rsa-pub-1",
                     cryptographic_parameters=cattrs.CryptographicParameters(
                         padding_method=enums.PaddingMethod.PSS,
                         hashing_algorithm=enums.HashingAlgorithm.SHA_256,
                         cryptographic_algorithm=(
                             enums.CryptographicAlgorithm.RSA)),
                     data=b"message to sign",
                     signature_data=b"\xAA" * 32))]


def b_mac(version):
    return [item(enums.Operation.MAC, payloads.MACRequestPayload(
        unique_identifier=cattrs.UniqueIdentifier("hmac-1"),
        cryptographic_parameters=cattrs.CryptographicParameters(
            cryptographic_algorithm=enums.CryptographicAlgorithm.HMAC_SHA256),
        data=objects.Data(b"mac me")))]


def b_derive_key(version):
    return [item(enums.Operation.DERIVE_KEY, payloads.DeriveKeyRequestPayload(
        object_type=enums.ObjectType.SYMMETRIC_KEY,
        unique_identifiers=["secret-1", "secret-2"],
        derivation_method=enums.DerivationMethod.PBKDF2,
        derivation_parameters=cattrs.DerivationParameters(
            cryptographic_parameters=cattrs.CryptographicParameters(
                hashing_algorithm=enums.HashingAlgorithm.SHA_256),
            salt=b"salty",
            iteration_count=10000),
        template_attribute=aes_template(name=None, length=128)))]


def b_rekey(version):
    return [item(enums.Operation.REKEY, payloads.RekeyRequestPayload(
        unique_identifier="key-1", offset=3600,
        template_attribute=objects.TemplateAttribute(attributes=[
            AF.create_attribute(AT.NAME, "rekeyed")])))]


def b_rekey_key_pair(version):
    return [item(enums.Operation.REKEY_KEY_PAIR,
                 payloads.RekeyKeyPairRequestPayload(
                     private_key_uuid=cattrs.PrivateKeyUniqueIdentifier(
                         "rsa-priv-1")))]


def b_check(version):
    return [item(enums.Operation.CHECK, payloads.CheckRequestPayload(
        unique_identifier="key-1", usage_limits_count=500,
        cryptographic_usage_mask=12, lease_time=3600))]


def b_get_usage_allocation(version):
    return [item(enums.Operation.GET_USAGE_ALLOCATION,
                 payloads.GetUsageAllocationRequestPayload(
                     unique_identifier="key-1", usage_limits_count=100))]


def b_cancel(version):
    return [item(enums.Operation.CANCEL, payloads.CancelRequestPayload(
        asynchronous_correlation_value=b"\x01\x02\x03"))]


def b_poll(version):
    return [item(enums.Operation.POLL, payloads.PollRequestPayload(
        asynchronous_correlation_value=b"\x01\x02\x03"))]


def b_modify_attribute(version):
    if v2(version):
        return [item(enums.Operation.MODIFY_ATTRIBUTE,
                     payloads.ModifyAttributeRequestPayload(
                         unique_identifier="key-1",
                         current_attribute=objects.CurrentAttribute(
                             attribute=primitives.Integer(
                                 128, enums.Tags.CRYPTOGRAPHIC_LENGTH)),
                         new_attribute=objects.NewAttribute(
                             attribute=primitives.Integer(
                                 256, enums.Tags.CRYPTOGRAPHIC_LENGTH))))]
    return [item(enums.Operation.MODIFY_ATTRIBUTE,
                 payloads.ModifyAttributeRequestPayload(
                     unique_identifier="key-1",
                     attribute=AF.create_attribute(AT.NAME, "renamed")))]


def b_delete_attribute(version):
    if v2(version):
        return [item(enums.Operation.DELETE_ATTRIBUTE,
                     payloads.DeleteAttributeRequestPayload(
                         unique_identifier="key-1",
                         current_attribute=objects.CurrentAttribute(
                             attribute=primitives.Integer(
                                 128, enums.Tags.CRYPTOGRAPHIC_LENGTH))))]
    return [item(enums.Operation.DELETE_ATTRIBUTE,
                 payloads.DeleteAttributeRequestPayload(
                     unique_identifier="key-1", attribute_name="Name",
                     attribute_index=1))]


def b_delete_attribute_reference(version):
    # 2.0 only: an Attribute Reference structure (vendor + name).
    return [item(enums.Operation.DELETE_ATTRIBUTE,
                 payloads.DeleteAttributeRequestPayload(
                     unique_identifier="key-1",
                     attribute_reference=objects.AttributeReference(
                         vendor_identification="x",
                         attribute_name="Product_Version")))]


def b_set_attribute(version):
    return [item(enums.Operation.SET_ATTRIBUTE,
                 payloads.SetAttributeRequestPayload(
                     unique_identifier="key-1",
                     new_attribute=objects.NewAttribute(
                         attribute=primitives.Integer(
                             256, enums.Tags.CRYPTOGRAPHIC_LENGTH))))]


def b_batch(version):
    return [
        item(enums.Operation.CREATE, payloads.CreateRequestPayload(
            object_type=enums.ObjectType.SYMMETRIC_KEY,
            template_attribute=aes_template()), batch_id=b"\x00\x01"),
        item(enums.Operation.ACTIVATE, payloads.ActivateRequestPayload(),
             batch_id=b"\x00\x02"),
        item(enums.Operation.GET, payloads.GetRequestPayload(),
             batch_id=b"\x00\x03"),
    ]


# (name, builder, versions, header options)
ALL = ["1.0", "1.1", "1.2", "1.4", "2.0"]
CASES = [
    ("discover_versions", b_discover_versions, ALL, {}),
    ("discover_versions_empty", b_discover_versions_empty, ALL, {}),
    ("query", b_query, ALL, {}),
    ("create", b_create, ALL, {}),
    ("create_with_credentials", b_create, ALL, {"credential": True}),
    ("create_key_pair", b_create_key_pair, ALL, {}),
    ("register_symmetric_key", b_register_symmetric_key, ALL,
     {"credential": True}),
    ("register_certificate", b_register_certificate, ALL, {}),
    ("register_secret_data", b_register_secret_data, ALL, {}),
    ("get", b_get, ALL, {}),
    ("get_wrapped", b_get_wrapped, ALL, {}),
    ("get_attributes", b_get_attributes, ALL, {}),
    ("get_attribute_list", b_get_attribute_list, ALL, {}),
    ("locate", b_locate, ALL, {}),
    ("activate", uid_only(enums.Operation.ACTIVATE,
                          payloads.ActivateRequestPayload, True), ALL, {}),
    ("revoke", b_revoke, ALL, {}),
    ("destroy", uid_only(enums.Operation.DESTROY,
                         payloads.DestroyRequestPayload, True), ALL,
     {"credential": True}),
    ("archive", uid_only(enums.Operation.ARCHIVE,
                         payloads.ArchiveRequestPayload), ALL, {}),
    ("recover", uid_only(enums.Operation.RECOVER,
                         payloads.RecoverRequestPayload), ALL, {}),
    ("obtain_lease", uid_only(enums.Operation.OBTAIN_LEASE,
                              payloads.ObtainLeaseRequestPayload), ALL, {}),
    ("get_usage_allocation", b_get_usage_allocation, ALL, {}),
    ("check", b_check, ALL, {}),
    ("encrypt", b_encrypt, ALL, {}),
    ("decrypt", b_decrypt, ALL, {}),
    ("sign", b_sign, ALL, {}),
    ("signature_verify", b_signature_verify, ALL, {}),
    ("mac", b_mac, ALL, {}),
    ("derive_key", b_derive_key, ALL, {}),
    ("rekey", b_rekey, ALL, {}),
    ("rekey_key_pair", b_rekey_key_pair, ALL, {}),
    ("cancel", b_cancel, ALL, {}),
    ("poll", b_poll, ALL, {}),
    ("modify_attribute", b_modify_attribute, ALL, {}),
    ("delete_attribute", b_delete_attribute, ALL, {}),
    ("delete_attribute_reference", b_delete_attribute_reference, ["2.0"], {}),
    ("set_attribute", b_set_attribute, ["2.0"], {}),  # 2.0-only in PyKMIP
    ("batch", b_batch, ALL, {"full_header": True}),
]


def credential():
    return CredentialFactory().create_credential(
        enums.CredentialType.USERNAME_AND_PASSWORD,
        {"Username": "alice", "Password": "wonderland"})


def build_message(version, batch_items, options):
    major, minor = (int(x) for x in version.split("."))
    header = messages.RequestHeader(
        protocol_version=contents.ProtocolVersion(major, minor),
        authentication=(contents.Authentication([credential()])
                        if options.get("credential") else None),
        batch_count=contents.BatchCount(len(batch_items)))
    if options.get("full_header"):
        header.maximum_response_size = contents.MaximumResponseSize(65536)
        header.asynchronous_indicator = contents.AsynchronousIndicator(False)
        header.batch_error_cont_option = contents.BatchErrorContinuationOption(
            enums.BatchErrorContinuationOption.STOP)
        header.batch_order_option = contents.BatchOrderOption(True)
        header.time_stamp = contents.TimeStamp(1700000000)
    return messages.RequestMessage(request_header=header,
                                   batch_items=batch_items)


def mode_requests():
    for name, builder, versions, options in CASES:
        for version in versions:
            line = {"name": name, "version": version}
            try:
                msg = build_message(version, builder(version), options)
                stream = BytearrayStream()
                msg.write(stream, kmip_version=VERSIONS[version])
                line["hex"] = binascii.hexlify(stream.buffer).decode()
            except Exception as e:  # PyKMIP cannot encode it: report, not die
                line["error"] = "{}: {}".format(type(e).__name__, e)
            print(json.dumps(line))


# --- decoding responses ----------------------------------------------------------

def plain(v):
    """A PyKMIP value as JSON: enums by name, bytes as hex, structures as dicts."""
    if v is None:
        return None
    if isinstance(v, enum.Enum):
        return v.name
    if isinstance(v, (bytes, bytearray)):
        return binascii.hexlify(bytes(v)).decode()
    if isinstance(v, (bool, int, str, float)):
        return v
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, contents.ProtocolVersion):
        return "{}.{}".format(v.major, v.minor)
    if isinstance(v, cattrs.Name):
        return {"name_value": v.name_value.value,
                "name_type": plain(v.name_type.value)}
    if isinstance(v, primitives.Base) and hasattr(v, "value") and \
            not isinstance(v, primitives.Struct):
        return plain(v.value)
    if hasattr(v, "value") and not isinstance(v, primitives.Struct):
        return plain(v.value)
    return repr(v)


def attribute_pairs(attrs):
    out = []
    for a in attrs or []:
        if isinstance(a, objects.Attribute):
            out.append([a.attribute_name.value, plain(a.attribute_value)])
        else:  # a 2.0 attribute value, named by its tag
            out.append([enums.convert_attribute_tag_to_name(a.tag),
                        plain(a)])
    return out


def template(t):
    if t is None:
        return None
    if isinstance(t, objects.Attributes):
        return attribute_pairs(t.attributes)
    return attribute_pairs(t.attributes)


def key_block(kb):
    out = {"key_format_type": plain(kb.key_format_type.value)}
    if kb.cryptographic_algorithm is not None:
        out["cryptographic_algorithm"] = plain(kb.cryptographic_algorithm.value)
    if kb.cryptographic_length is not None:
        out["cryptographic_length"] = kb.cryptographic_length.value
    kv = kb.key_value
    if kv is not None:
        km = getattr(kv, "key_material", None)
        if km is not None and hasattr(km, "value"):
            out["key_material"] = plain(km.value)
        out["key_value_attributes"] = attribute_pairs(
            getattr(kv, "attributes", None))
    return out


def secret(s):
    if s is None:
        return None
    out = {"class": type(s).__name__}
    if hasattr(s, "key_block"):
        out.update(key_block(s.key_block))
    if hasattr(s, "secret_data_type"):
        out["secret_data_type"] = plain(s.secret_data_type.value)
    if hasattr(s, "certificate_value"):
        out["certificate_value"] = plain(s.certificate_value.value)
        out["certificate_type"] = plain(s.certificate_type.value)
    return out


def payload_fields(p):
    out = {"class": type(p).__name__}
    simple = ["unique_identifier", "object_type", "private_key_unique_identifier",
              "public_key_unique_identifier", "located_items",
              "unique_identifiers", "protocol_versions", "operations",
              "object_types", "vendor_identification", "attribute_names",
              "data", "iv_counter_nonce", "auth_tag", "signature_data",
              "mac_data", "validity_indicator", "usage_limits_count",
              "cryptographic_usage_mask", "lease_time"]
    for f in simple:
        if hasattr(type(p), f) or f in vars(p) or hasattr(p, f):
            try:
                v = getattr(p, f)
            except Exception:
                continue
            if v is not None and v != []:
                out[f] = plain(v)
    # The attribute containers of each payload.
    for f in ["template_attribute", "private_key_template_attribute",
              "public_key_template_attribute"]:
        t = getattr(p, f, None)
        if t is not None:
            out[f] = template(t)
    if isinstance(p, payloads.GetAttributesResponsePayload):
        out["attributes"] = attribute_pairs(p.attributes)
    if isinstance(p, payloads.GetResponsePayload):
        out["secret"] = secret(p.secret)
    if isinstance(p, payloads.QueryResponsePayload):
        si = p.server_information
        out["server_information"] = None if si is None else repr(si)
    return out


def decode_response(data):
    msg = messages.ResponseMessage()
    msg.read(BytearrayStream(data), kmip_version=enums.KMIPVersion.KMIP_1_0)
    h = msg.response_header
    fields = {
        "version": plain(h.protocol_version),
        "time_stamp": h.time_stamp.value,
        "batch_count": h.batch_count.value,
        "items": [],
    }
    for bi in msg.batch_items:
        it = {
            "operation": plain(bi.operation.value) if bi.operation else None,
            "unique_batch_item_id": (plain(bi.unique_batch_item_id.value)
                                     if bi.unique_batch_item_id else None),
            "result_status": plain(bi.result_status.value),
            "result_reason": (plain(bi.result_reason.value)
                              if bi.result_reason else None),
            "result_message": (bi.result_message.value
                               if bi.result_message else None),
            "payload": (payload_fields(bi.response_payload)
                        if bi.response_payload is not None else None),
        }
        fields["items"].append(it)
    return fields


def mode_decode_responses():
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        req = json.loads(raw)
        out = {"name": req.get("name"), "ok": False, "error": None,
               "fields": None}
        try:
            out["fields"] = decode_response(binascii.unhexlify(req["hex"]))
            out["ok"] = True
        except Exception as e:
            out["error"] = "{}: {}\n{}".format(
                type(e).__name__, e, traceback.format_exc(limit=3))
        print(json.dumps(out), flush=True)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "requests":
        mode_requests()
    elif mode == "decode-responses":
        mode_decode_responses()
    else:
        sys.stderr.write("usage: peer.py requests | decode-responses\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
