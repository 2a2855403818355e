"""Validates the PAdES signature of a city-plan certificate with pyHanko, as a verifier would.

Usage: check_pades.py CERTIFICATE.pdf SIGNER.pem

Prints one JSON line: whether the signature is intact (the signed bytes are unchanged) and valid
(the CMS signature verifies), whether it is trusted when the city's signing certificate is the
trust root, what it covers, and the signer's subject. Exits 0 whenever it could read the file.
"""

import json
import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main(pdf_path, signer_path):
    with open(signer_path, "rb") as f:
        data = f.read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    root = x509.Certificate.load(data)
    with open(pdf_path, "rb") as f:
        reader = PdfFileReader(f, strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            print(json.dumps({"signatures": 0}))
            return
        signature = signatures[0]
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
        print(
            json.dumps(
                {
                    "signatures": len(signatures),
                    "sub_filter": str(signature.sig_object["/SubFilter"]),
                    "intact": status.intact,
                    "valid": status.valid,
                    "trusted": status.trusted,
                    "coverage": status.coverage.name,
                    "signer": signature.signer_cert.subject.human_friendly,
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
