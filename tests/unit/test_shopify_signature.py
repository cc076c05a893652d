"""A webhook is applied only when Shopify's HMAC over the raw body checks out."""

from retailhub.adapters.connectors.shopify import sign_body, verify_webhook

SECRET = "shpss_demo_secret"
BODY = b'{"id":5600000000001,"name":"#1001"}'


def test_a_body_signed_with_the_app_secret_is_valid():
    assert verify_webhook(SECRET, BODY, sign_body(SECRET, BODY))


def test_known_vector_matches_hmac_sha256_base64():
    # base64(HMAC-SHA256(key="secret", msg="hello")), computed independently.
    assert sign_body("secret", b"hello") == "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="


def test_a_tampered_body_is_rejected():
    header = sign_body(SECRET, BODY)
    assert not verify_webhook(SECRET, BODY.replace(b"1001", b"1002"), header)


def test_a_signature_made_with_another_secret_is_rejected():
    assert not verify_webhook(SECRET, BODY, sign_body("someone-else", BODY))


def test_during_rotation_both_the_old_and_the_new_secret_are_accepted():
    secrets = ["shpss_new", "shpss_old"]
    assert verify_webhook(secrets, BODY, sign_body("shpss_old", BODY))
    assert verify_webhook(secrets, BODY, sign_body("shpss_new", BODY))
    assert not verify_webhook(secrets, BODY, sign_body("shpss_retired", BODY))


def test_a_missing_or_empty_header_is_invalid():
    assert not verify_webhook(SECRET, BODY, None)
    assert not verify_webhook(SECRET, BODY, "")


def test_garbage_headers_are_invalid_and_never_raise():
    for header in ("not base64!!", "c2hvcnQ=", "é", "=" * 44, sign_body(SECRET, BODY)[:-4]):
        assert not verify_webhook(SECRET, BODY, header)
