"""WService code tables (Tabelle 1–6 of the vendor document) as data.

The sandbox, the connector, the mapping and the receiver all read codes from here: no
code string is spelled anywhere else. `DocumentType.family` is our own decision of which
normalized model a document type becomes (docs/wservice-wire.md); `stock_sign` is how a
document moves stock (+1 in, -1 out, 0 not at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = [
    "DEFAULT_EXCLUDED",
    "EMPTY_DATE",
    "MOVEMENT_CODES",
    "RESOURCES",
    "CustomerType",
    "DocumentType",
    "Family",
    "InOut",
    "InsertMethod",
    "MovementCode",
    "OriginType",
    "ProductType",
    "ReceiptType",
    "RowType",
    "default_movement",
    "family_of",
]

Family = Literal["order", "invoice", "stock", "closure", "report"]

#: the Delphi TDateTime zero the vendor sends for "no date"
EMPTY_DATE = "1899-12-30T00:00:00.000+01:00"


class DocumentType(StrEnum):
    """Tabella 1 — DOCUMENT TYPES (description, family and stock sign in `_DOCUMENT_META`)."""

    DCC = "DCC"
    DUC = "DUC"
    DUF = "DUF"
    DUI = "DUI"
    CAR = "CAR"
    RAF = "RAF"
    RDC = "RDC"
    MTM = "MTM"
    VEN = "VEN"
    VEA = "VEA"
    VES = "VES"
    MIV = "MIV"
    SCA = "SCA"
    RAP = "RAP"
    ORD = "ORD"
    PRE = "PRE"
    BIL = "BIL"
    CHF = "CHF"
    ORS = "ORS"
    COM = "COM"

    @property
    def description(self) -> str:
        """The vendor's Italian description."""
        return _DOCUMENT_META[self.value][0]

    @property
    def family(self) -> Family:
        """The normalized model family these documents map to (our decision)."""
        return _DOCUMENT_META[self.value][1]

    @property
    def stock_sign(self) -> int:
        """+1 goods in, -1 goods out, 0 no stock movement."""
        return _DOCUMENT_META[self.value][2]


_DOCUMENT_META: dict[str, tuple[str, Family, int]] = {
    "DCC": ("Documento di consegna per cliente", "invoice", -1),
    "DUC": ("Documento per cliente", "invoice", -1),
    "DUF": ("Documento per fornitore", "stock", 1),
    "DUI": ("Documento interno", "invoice", 0),
    "CAR": ("Carichi", "stock", 1),
    "RAF": ("Resa al fornitore", "stock", -1),
    "RDC": ("Resa da cliente", "invoice", 1),
    "MTM": ("Movimenti tra magazzini", "stock", 0),
    "VEN": ("Ricevute di vendita", "order", -1),
    "VEA": ("Ricevute di vendita annullate", "order", 0),
    "VES": ("Ricevute di vendita sospese", "order", 0),
    "MIV": ("Movimenti IVA", "report", 0),
    "SCA": ("Scarico merce", "stock", -1),
    "RAP": ("Rapporti e stampe", "report", 0),
    "ORD": ("Ordini", "invoice", 0),
    "PRE": ("Preventivo", "invoice", 0),
    "BIL": ("Bilancia", "order", -1),
    "CHF": ("Chiusura Fiscale Cassa", "closure", 0),
    "ORS": ("Ordini sospesi", "invoice", 0),
    "COM": ("Comanda Poldo", "invoice", 0),
}


class OriginType(StrEnum):
    """Tabella 2 — ORIGIN TYPES."""

    AZI = "AZI"  # Azienda/Magazzino
    AZP = "AZP"  # Aziende Produttrici
    DIS = "DIS"  # Distributori
    PRO = "PRO"  # Professionisti esterni
    DIP = "DIP"  # Dipendenti
    FOR = "FOR"  # Fornitori di servizi
    CLI = "CLI"  # Clienti
    MAG = "MAG"  # Magazzino
    POS = "POS"  # Vendita tramite POS
    BIL = "BIL"  # Vendita tramite Bilancia
    GED = "GED"  # Gruppo editoriale
    TEA = "TEA"  # Docenti, insegnanti
    TAV = "TAV"  # Tavolo


class ReceiptType(StrEnum):
    """Tabella 3 — RECEIPT TYPES."""

    FISCAL = "S"  # Scontrino Fiscale
    RESTAURANT_RECEIPT = "R"  # Ricevuta Fiscale Ristorazione
    RESTAURANT_INVOICE = "F"  # Fattura Ristorazione
    NON_FISCAL = "N"  # Non Fiscale
    PRE_BILL = "P"  # Preconto
    POS_UNLOAD = "C"  # Documenti di Scarico da POS


class InsertMethod(StrEnum):
    """Tabella 4 — INSERT METHODS (default N, read as manual)."""

    MANUAL = "M"
    MANUAL_DEFAULT = "N"
    SCANNER = "S"
    PLU = "P"
    HANDHELD = "T"
    SCALE = "B"
    WEB = "W"
    VENDING = "D"
    BACK_OFFICE = "G"
    IMPORT = "I"
    EXTERNAL = "E"
    GIFT = "O"


class RowType(StrEnum):
    """Tabella 5 — ROW TYPES (default P)."""

    PRODUCT = "P"  # Riga Prodotto o Reparto
    RETURN = "R"  # Riga di Reso
    DESCRIPTION = "D"  # Riga di Descrizione
    DISCOUNT_VALUE = "S"  # Riga di Sconto Valore
    DISCOUNT_PERCENT = "V"  # Riga di Sconto Percentuale
    VOID = "A"  # Riga di Annullo stampata sullo scontrino
    REVERSAL = "T"  # Riga di Storno stampata
    GIFT = "O"  # Riga omaggio
    CLOSURE = "C"  # Chiusura

    @property
    def sells(self) -> bool:
        """Goods rows (the order's lines): sold, returned, given, voided or reversed."""
        return self in (
            RowType.PRODUCT,
            RowType.RETURN,
            RowType.GIFT,
            RowType.VOID,
            RowType.REVERSAL,
        )

    @property
    def discounts(self) -> bool:
        """Rows that take value off the document."""
        return self in (RowType.DISCOUNT_VALUE, RowType.DISCOUNT_PERCENT)


class ProductType(StrEnum):
    """Tabella 6 — PRODUCT TYPES (`null` = not defined, sent as JSON null)."""

    PRODUCT = "PRD"
    DEPARTMENT = "REP"
    SCRATCH_CARD = "GEV"  # Gratta e Vinci
    COUPON = "CPN"
    SUBTOTAL = "TOT"


class InOut(StrEnum):
    """`inout`: goods in (I) or out (U)."""

    IN = "I"
    OUT = "U"


class CustomerType(StrEnum):
    """`customertypereceipt`: a customer or a fidelity card."""

    CUSTOMER = "CLI"
    FIDELITY = "FID"


#: `DocTypeExcluded` when WService.ini does not set it (the document's default list)
DEFAULT_EXCLUDED: tuple[DocumentType, ...] = (
    DocumentType.VEA,
    DocumentType.BIL,
    DocumentType.SCA,
    DocumentType.COM,
    DocumentType.CAR,
)

#: resource → (its id parameter, its set<res> write, deletable); `documents` are
#: read by `iddocument` (not `idmovement`), written at the singular `setdocument`.
RESOURCES: dict[str, tuple[str, str | None, bool]] = {
    "departments": ("iddepartment", "setdepartments", True),
    "products": ("idproduct", "setproducts", True),
    "documents": ("iddocument", "setdocument", False),
    "prepaid": ("idprepaid", "setprepaid", False),
}


def family_of(document_type: str) -> Family:
    """The normalized family of a `documenttype` (ValueError when not in Tabella 1)."""
    return DocumentType(document_type).family


@dataclass(frozen=True, slots=True)
class MovementCode:
    """A `CodiceMovimento` (INFERRED table): what `movementcodename` auto-completes.

    The document marks auto-completed fields with "---"; these are the values the sandbox
    fills when `setdocument` leaves them empty (docs/wservice-wire.md).
    """

    name: str
    document_type: DocumentType
    inout: InOut
    cussup: str
    qtycode: str
    origin: OriginType


#: movementcodename → its defaults; the first code of a document type is its default code
MOVEMENT_CODES: dict[str, MovementCode] = {
    m.name: m
    for m in (
        MovementCode("VENDITA", DocumentType.VEN, InOut.OUT, "C", "VENDUTA", OriginType.POS),
        MovementCode("RESO", DocumentType.VEN, InOut.IN, "C", "RESA", OriginType.POS),
        MovementCode("CARICO", DocumentType.CAR, InOut.IN, "F", "CARICO", OriginType.FOR),
        MovementCode("FATFOR", DocumentType.CAR, InOut.IN, "F", "CARICO", OriginType.FOR),
        MovementCode("SCARICO", DocumentType.SCA, InOut.OUT, "", "SCARICO", OriginType.AZI),
        MovementCode(
            "TRASFERIMENTO", DocumentType.MTM, InOut.OUT, "", "TRASFERITA", OriginType.MAG
        ),
        MovementCode("RESAFOR", DocumentType.RAF, InOut.OUT, "F", "RESA", OriginType.FOR),
        MovementCode("FATTURA", DocumentType.DUC, InOut.OUT, "C", "FATTURATA", OriginType.CLI),
    )
}


def default_movement(document_type: DocumentType) -> MovementCode | None:
    """The first movement code of a document type (None when it has none)."""
    return next((m for m in MOVEMENT_CODES.values() if m.document_type == document_type), None)
