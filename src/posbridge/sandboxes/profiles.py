"""Country profiles for the world generator: data only, no logic.

A profile says what a merchant in that country sells, at which VAT rates, how its
customers pay and what its people, streets and towns are called. The generator
(`posbridge.sandboxes.world`) turns one into a deterministic world; vendor sandboxes
then render that world in their own wire format.

Item tuples are `(name, price incl. VAT)` or `(name, price, vat_class)` when an item's
VAT class differs from its category's. A price written `~12.00` marks an open-price
item (the cashier types the amount; 12.00 is the typical one).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "PAYMENT_KEYS",
    "PROFILES",
    "TRAFFIC",
    "CategorySpec",
    "ModifierGroup",
    "Profile",
    "Traffic",
]

#: The nine CloudPOS payment methods; every profile's mix is expressed over them.
PAYMENT_KEYS = (
    "cash",
    "bancontact",
    "voucher",
    "transfer",
    "visa",
    "chargecard",
    "luncheoncard",
    "americanexpress",
    "mastercard",
)

Items = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """A category and its items; `vat_class` keys into `Profile.vat_classes`."""

    name: str
    vat_class: str
    items: Items
    cost_ratio: Decimal = Decimal("0.30")


@dataclass(frozen=True, slots=True)
class ModifierGroup:
    """Options offered on some products: `popup` (choices) or `menu` (menu courses)."""

    name: str
    kind: str
    vat_class: str
    items: Items
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Traffic:
    """Shape of a trading day. Times are minutes after the business-day start.

    `weekday` factors run Monday..Sunday; `lines` weighs 1..6 lines per ticket;
    `mixture` entries are (weight, "n", mean, sd) or (weight, "u", low, high);
    `shifts` are (clock-in, clock-out) per establishment per day.
    """

    weekday: tuple[float, ...]
    lines: tuple[int, ...]
    window: tuple[int, int]
    mixture: tuple[tuple[int, str, int, int], ...]
    shifts: tuple[tuple[int, int], ...]
    users: int


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything country-specific the generator needs."""

    code: str
    country: str
    currency: str
    timezone: str
    vat_rates: tuple[Decimal, ...]
    vat_classes: tuple[tuple[str, Decimal], ...]
    payment_names: tuple[str, ...]  # display names in PAYMENT_KEYS order
    payment_mix: tuple[int, ...]  # relative weights in PAYMENT_KEYS order
    traffic: str  # "hospitality" | "retail" | "vending": time-of-day and weekday shape
    establishments: tuple[str, ...]
    devices: tuple[str, ...]
    printers: tuple[str, ...]
    categories: tuple[CategorySpec, ...]
    modifiers: tuple[ModifierGroup, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    companies: tuple[str, ...]
    streets: tuple[str, ...]
    towns: tuple[tuple[str, str], ...]  # (zipcode, town)
    phone_pattern: str  # '#' is a random digit
    email_domains: tuple[str, ...]
    vat_number_pattern: str  # '#' is a random digit; "BE" numbers get a mod-97 check
    barcode_prefix: str  # GS1 country prefix for EAN-13
    business_day_start_hour: int = 4
    service_charge: Decimal = Decimal(0)  # percent of the net amount, VAT-free line
    service_product: str = ""  # item that carries the service charge on each ticket
    return_share: float = 0.02
    split_share: float = 0.10
    reservations: bool = False

    def rate(self, vat_class: str) -> Decimal:
        """The VAT percent of a class such as `food` or `alcohol`."""
        return dict(self.vat_classes)[vat_class]


def _d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def _i(text: str) -> Items:
    """Parse `name|price[|class]; ...` item lists (keeps the tables readable)."""
    return tuple(
        tuple(p.strip() for p in item.split("|")) for item in text.split(";") if item.strip()
    )


# fmt: off
TRAFFIC = {
    # lunch 12:45 and dinner 19:30 peaks, afternoon lull, a tail past midnight
    "hospitality": Traffic((0.75, 0.8, 0.9, 0.95, 1.2, 1.35, 1.05), (15, 25, 22, 18, 12, 8),
                           (360, 1320), ((35, "n", 525, 40), (40, "n", 930, 70),
                                         (15, "u", 630, 810), (10, "u", 1050, 1310)),
                           ((330, 750), (750, 1335)), 8),
    # 09:00-19:30, after-work peak, Saturday busiest
    "retail": Traffic((0.9, 0.9, 0.95, 1.0, 1.15, 1.3, 0.8), (20, 25, 20, 15, 12, 8),
                      (300, 930), ((25, "n", 450, 60), (45, "n", 750, 70), (30, "u", 300, 930)),
                      ((270, 600), (600, 960)), 5),
    # commuters and office lunch, quiet weekends; one refill round per day
    "vending": Traffic((1.1, 1.1, 1.1, 1.1, 1.0, 0.8, 0.8), (85, 12, 3, 0, 0, 0),
                       (120, 1140), ((30, "n", 240, 40), (30, "n", 510, 45), (40, "u", 120, 1140)),
                       ((150, 390),), 3),
}

# The tables below are laid out by hand for reading; the formatter would put every
# tuple element on its own line and triple the file.
_DUTCH_PAYMENTS = (
    "Contant", "Bancontact", "Kadobon", "Overschrijving", "Visa",
    "Oplaadkaart", "Maaltijdcheque", "American Express", "Mastercard",
)

_BE = Profile(
    code="be_hospitality", country="BE", currency="EUR", timezone="Europe/Brussels",
    vat_rates=_d("21", "12", "6", "0"),
    vat_classes=(("alcohol", Decimal(21)), ("drink", Decimal(21)), ("food", Decimal(12)),
                 ("takeaway", Decimal(6)), ("giftcard", Decimal(0))),
    payment_names=_DUTCH_PAYMENTS,
    payment_mix=(28, 38, 2, 1, 11, 2, 6, 2, 10),
    traffic="hospitality", reservations=True,
    establishments=("Brasserie Het Belfort Gent", "Brasserie Het Belfort Brugge"),
    devices=("Kassa toog", "Kassa toog", "Kassa zaal"),
    printers=("Keuken", "Bar", "Kassa", "Terras"),
    categories=(
        CategorySpec("Bieren van het vat", "alcohol", _i(
            "Jupiler 25cl|3.00; Jupiler 33cl|3.80; Jupiler 50cl|5.60; Stella Artois 25cl|3.10;"
            "Stella Artois 33cl|3.90; Hoegaarden Wit 25cl|3.40; Hoegaarden Wit 33cl|4.20;"
            "Leffe Blond 33cl|4.90; Leffe Bruin 33cl|4.90; Vedett Extra White 33cl|4.40;"
            "De Koninck 25cl|3.40; Omer 33cl|5.20; Kriek Boon 25cl|4.10; Gentse Strop 33cl|5.10"),
            Decimal("0.25")),
        CategorySpec("Speciaalbieren", "alcohol", _i(
            "Duvel|5.20; Westmalle Tripel|5.40; Westmalle Dubbel|5.20; Chimay Blauw|5.60;"
            "Chimay Tripel|5.40; Orval|5.90; Rochefort 8|5.80; Rochefort 10|6.40;"
            "Tripel Karmeliet|5.40; Kwak|5.60; La Chouffe|5.30; Kasteel Rouge|5.50;"
            "Brugse Zot Blond|4.90; Straffe Hendrik Tripel|5.40; Gouden Carolus Classic|5.30;"
            "Tongerlo Prior|5.40; Lindemans Kriek|4.60; Liefmans Fruitesse|4.40;"
            "Grimbergen Blond|4.90; Affligem Dubbel|5.10"), Decimal("0.28")),
        CategorySpec("Wijnen en aperitieven", "alcohol", _i(
            "Huiswijn wit glas|5.50; Huiswijn rood glas|5.50; Huiswijn rosé glas|5.50;"
            "Huiswijn wit karaf 50cl|16.00; Huiswijn rood karaf 50cl|16.00; Cava glas|7.50;"
            "Champagne glas|12.00; Champagne fles|65.00; Aperol Spritz|9.50; Gin Tonic|12.00;"
            "Porto rood|5.50; Martini Bianco|5.50; Campari Orange|7.50; Cognac|8.50;"
            "Whisky|8.00; Jenever|4.00; Pastis|5.00; Sancerre fles|42.00"), Decimal("0.30")),
        CategorySpec("Frisdranken", "drink", _i(
            "Coca-Cola|3.00; Coca-Cola Zero|3.00; Fanta Orange|3.00; Sprite|3.00;"
            "Ice Tea Peach|3.20; Spa Reine 25cl|2.80; Spa Barisart 25cl|2.80;"
            "Spa Reine 1L|8.50; Chaudfontaine Rood 1L|8.50; Schweppes Tonic|3.30;"
            "Minute Maid Appelsap|3.40; Vers sinaasappelsap|5.50; Gini|3.10; Cécémel|3.40;"
            "Looza Tomatensap|3.20"), Decimal("0.22")),
        CategorySpec("Warme dranken", "drink", _i(
            "Koffie|3.00; Espresso|2.90; Dubbele espresso|4.20; Cappuccino|3.80;"
            "Latte macchiato|4.20; Koffie verkeerd|3.80; Thee|3.00; Verse muntthee|4.50;"
            "Warme chocolademelk|4.00; Irish Coffee|9.50; Italian Coffee|9.50; Deca|3.00"),
            Decimal("0.15")),
        CategorySpec("Voorgerechten", "food", _i(
            "Tomatensoep met balletjes|7.50; Dagsoep|7.00; Garnaalkroketten (2 st.)|16.50;"
            "Kaaskroketten (2 st.)|13.50; Carpaccio van rund|15.00; Scampi in looksaus|16.00;"
            "Tomaat-garnaal|21.00; Vitello tonnato|15.50; Gerookte zalm|15.50;"
            "Duo van kroketten|15.50")),
        CategorySpec("Hoofdgerechten", "food", _i(
            "Steak friet|26.00; Entrecote|32.00; Filet pur|36.00; Stoofvlees met friet|21.50;"
            "Vol-au-vent|20.50; Stoemp met worst|18.50; Konijn met pruimen|24.00;"
            "Waterzooi van kip|23.50; Gentse waterzooi van vis|26.50; Mosselen natuur|28.00;"
            "Mosselen witte wijn|29.50; Vispannetje|27.00; Tongrolletjes|28.50;"
            "Zalmfilet|25.50; Spaghetti bolognese|16.50; Lasagne|17.50;"
            "Vegetarische burger|19.50; Classic burger|19.50; Cheeseburger|20.50;"
            "Caesarsalade|18.50; Salade Liégeoise|18.00; Croque monsieur|11.50;"
            "Croque madame|12.50; Croque hawaï|12.50; Américain friet|21.00;"
            "Balletjes in tomatensaus|19.00; Kip curry|19.50; Paling in 't groen|32.00")),
        CategorySpec("Desserten", "food", _i(
            "Dame blanche|9.50; Coupe brésilienne|9.50; Chocolademousse|8.50;"
            "Crème brûlée|9.00; Tiramisu|9.00; Pannenkoeken met suiker|8.00;"
            "Wafel met slagroom|8.50; Sabayon|11.00; Café glacé|9.50; Kaasschotel|14.00;"
            "Rijsttaart|4.50; Coupe advocaat|9.50"), Decimal("0.25")),
        CategorySpec("Menu's", "food", _i(
            "Dagschotel|16.50; Lunchmenu 2 gangen|24.50; Lunchmenu 3 gangen|31.50;"
            "Kindermenu|12.50; Menu van de chef|48.00")),
        CategorySpec("Take-away", "takeaway", _i(
            "Friet klein|3.50; Friet groot|4.50; Stoofvlees afhaal|12.50;"
            "Vol-au-vent afhaal|13.50; Spaghetti afhaal|11.50; Soep 1L afhaal|8.00;"
            "Croque afhaal|8.50; Wafel afhaal|4.00; Frisdrank blik afhaal|2.50;"
            "Lasagne afhaal|12.50")),
        CategorySpec("Divers en bonnen", "food", _i(
            "Divers keuken|~10.00; Divers bar|~5.00|alcohol; Cadeaubon|~50.00|giftcard"),
            Decimal("0")),
    ),
    modifiers=(
        ModifierGroup("Cuisson", "popup", "food", _i(
            "Bleu|0.00; Saignant|0.00; À point|0.00; Bien cuit|0.00"),
            products=("Steak friet", "Entrecote", "Filet pur", "Classic burger", "Cheeseburger")),
        ModifierGroup("Sauzen", "popup", "food", _i(
            "Béarnaisesaus|3.00; Pepersaus|3.00; Champignonsaus|3.00; Roquefortsaus|3.50;"
            "Mayonaise|1.00; Ketchup|0.80; Andalouse|1.00; Tartaarsaus|1.00"),
            products=("Steak friet", "Entrecote", "Filet pur", "Classic burger", "Cheeseburger",
                      "Vegetarische burger", "Stoofvlees met friet", "Américain friet",
                      "Mosselen natuur", "Mosselen witte wijn")),
        ModifierGroup("Bijgerecht", "popup", "food", _i(
            "Frieten|0.00; Kroketten|2.00; Puree|0.00; Gemengde salade|0.00; Brood|0.00"),
            products=("Steak friet", "Entrecote", "Filet pur", "Stoofvlees met friet",
                      "Vol-au-vent", "Konijn met pruimen", "Zalmfilet", "Tongrolletjes",
                      "Vispannetje", "Balletjes in tomatensaus", "Kip curry")),
        ModifierGroup("Extra's burger", "popup", "food", _i(
            "Extra kaas|1.50; Spek|2.00; Gebakken ei|1.50; Avocado|2.50"),
            products=("Classic burger", "Cheeseburger", "Vegetarische burger")),
        ModifierGroup("Menukeuze", "menu", "food", _i(
            "Soep van de dag|0.00; Supplement garnaalkroket|4.00; Dessert van de dag|0.00;"
            "Koffie met versnapering|0.00; Supplement dame blanche|2.50"),
            categories=("Menu's",)),
        ModifierGroup("Koffie extra's", "popup", "drink", _i(
            "Extra shot|1.00; Havermelk|0.50; Slagroom|0.80; Karamelsiroop|0.80"),
            products=("Koffie", "Espresso", "Cappuccino", "Latte macchiato", "Koffie verkeerd",
                      "Warme chocolademelk")),
        ModifierGroup("Sauzen afhaal", "popup", "takeaway", _i(
            "Mayonaise afhaal|0.90; Stoofvleessaus|2.00; Samurai|0.90; Ketchup afhaal|0.80"),
            products=("Friet klein", "Friet groot")),
    ),
    first_names=("Lotte", "Wout", "Elien", "Pieter", "Marie", "Jens", "Sofie", "Thomas",
                 "Louise", "Arne", "Nathalie", "Koen", "Emma", "Bram", "Julie", "Stijn",
                 "Camille", "Maxime", "Nina", "Jeroen", "Lien", "Ruben", "Hanne", "Tibo"),
    last_names=("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes",
                "Goossens", "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Hermans",
                "Vermeulen", "Van den Broeck", "De Vos", "Verstraete", "Declercq", "Lemmens",
                "Desmet", "Van Damme", "Coppens", "Martens"),
    companies=("Bakkerij Vermeulen BV", "Advocatenkantoor De Vos", "Dakwerken Claes",
               "IT Solutions Gent NV", "Architectenbureau Lemmens", "Fietsen Maes",
               "Boekhouding Peeters BV", "Garage Van Damme NV", "Evenementen Arteveld",
               "Brouwerij Het Anker", "Notariaat Declercq", "Schrijnwerkerij Coppens"),
    streets=("Korenmarkt", "Veldstraat", "Kouter", "Sint-Pietersnieuwstraat", "Coupure Links",
             "Overpoortstraat", "Steenstraat", "Langestraat", "Kerkstraat", "Stationsstraat",
             "Dorpsstraat", "Nieuwstraat", "Markt", "Molenstraat"),
    towns=(("9000", "Gent"), ("8000", "Brugge"), ("9050", "Gentbrugge"), ("9820", "Merelbeke"),
           ("8200", "Sint-Michiels"), ("9030", "Mariakerke"), ("8310", "Assebroek"),
           ("2000", "Antwerpen"), ("1000", "Brussel"), ("9300", "Aalst"), ("8500", "Kortrijk")),
    phone_pattern="+32 4## ## ## ##",
    email_domains=("telenet.be", "gmail.com", "skynet.be", "outlook.com", "proximus.be"),
    vat_number_pattern="BE0#########",
    barcode_prefix="54",
)

_NL = Profile(
    code="nl_vending", country="NL", currency="EUR", timezone="Europe/Amsterdam",
    vat_rates=_d("21", "9", "0"),
    vat_classes=(("food", Decimal(9)), ("drink", Decimal(9)), ("nonfood", Decimal(21)),
                 ("giftcard", Decimal(0))),
    payment_names=("Contant", "Bancontact", "Cadeaukaart", "Overboeking", "Visa", "Saldokaart",
                   "Maaltijdbon", "American Express", "Pinpas"),
    payment_mix=(18, 0, 1, 0, 20, 14, 0, 1, 46),
    traffic="vending",
    establishments=("Utrecht Centraal hal 2", "Rijnstate ziekenhuis Arnhem",
                    "Hogeschool Rotterdam Kralingse Zoom"),
    devices=("Automaat A1", "Automaat B1", "Automaat C1", "Automaat A2", "Automaat C2"),
    printers=("Bonprinter",),
    categories=(
        CategorySpec("Frisdrank", "drink", _i(
            "Coca-Cola 50cl|2.60; Fanta 50cl|2.60; Spa Rood 50cl|2.20; Chaudfontaine 50cl|2.20;"
            "Fuze Tea 40cl|2.70; Red Bull 25cl|2.90; Appelsap Appelsientje|2.40;"
            "Chocomel 25cl|2.30; Fristi 30cl|2.30"), Decimal("0.40")),
        CategorySpec("Warme dranken", "drink", _i(
            "Koffie zwart|1.80; Cappuccino|2.20; Koffie verkeerd|2.20; Espresso|1.80;"
            "Thee Pickwick|1.60; Warme chocolade|2.00"), Decimal("0.25")),
        CategorySpec("Snoep", "food", _i(
            "Mars|1.50; Snickers|1.50; Twix|1.50; KitKat|1.50; Tony's Chocolonely melk|2.80;"
            "Haribo Goudbeertjes|1.70; Venco drop|1.90; Stroopwafels Daelmans|2.10;"
            "Sultana fruitbiscuit|1.40"), Decimal("0.45")),
        CategorySpec("Snacks", "food", _i(
            "Lays Naturel|1.60; Lays Paprika|1.60; Pringles Original|2.60;"
            "Borrelnootjes Duyvis|1.90; Kaascrackers|1.80; Ontbijtkoek plak|1.20"),
            Decimal("0.45")),
        CategorySpec("Broodjes", "food", _i(
            "Broodje kaas|3.60; Broodje ham-kaas|3.90; Broodje gezond|4.50;"
            "Croissant|2.10; Saucijzenbroodje|2.80; Wrap kip|4.90"), Decimal("0.50")),
        CategorySpec("Non-food", "nonfood", _i(
            "Telefoonlader USB-C|12.50; Paraplu|9.95; Oordopjes|3.50; Mondkapjes 5 st.|2.50"),
            Decimal("0.35")),
    ),
    modifiers=(
        ModifierGroup("Suiker en melk", "popup", "drink", _i(
            "Extra suiker|0.00; Extra melk|0.00; Extra sterk|0.20"),
            categories=("Warme dranken",)),
    ),
    first_names=("Daan", "Sanne", "Lucas", "Fleur", "Sem", "Anouk", "Milan", "Lisa", "Noah",
                 "Eva", "Jesse", "Iris", "Thijs", "Roos", "Bas", "Femke"),
    last_names=("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
                "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
                "Hendriks"),
    companies=("Facilitair Bedrijf Utrecht BV", "Schoonmaak Rijn en IJssel", "Kantoor Visser BV",
               "NS Stations Retail", "Zorggroep Arnhem", "Studievereniging Kralingen"),
    streets=("Stationsplein", "Oudegracht", "Vredenburg", "Wagnerlaan", "Kralingse Zoom",
             "Lange Viestraat", "Jansbinnensingel", "Coolsingel"),
    towns=(("3511 CE", "Utrecht"), ("6815 AD", "Arnhem"), ("3062 PA", "Rotterdam"),
           ("3521 AZ", "Utrecht"), ("6811 CS", "Arnhem")),
    phone_pattern="+31 6 ## ## ## ##",
    email_domains=("gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com"),
    vat_number_pattern="NL#########B01",
    barcode_prefix="87",
)

_IT = Profile(
    code="it_retail", country="IT", currency="EUR", timezone="Europe/Rome",
    vat_rates=_d("22", "10", "5", "4"),
    vat_classes=(("standard", Decimal(22)), ("reduced", Decimal(10)), ("herbs", Decimal(5)),
                 ("staple", Decimal(4))),
    payment_names=("Contanti", "Bancomat", "Buono", "Bonifico", "Visa", "Carta fedeltà",
                   "Buono pasto", "American Express", "Mastercard"),
    payment_mix=(40, 30, 1, 1, 10, 2, 5, 1, 10),
    traffic="retail",
    establishments=("Alimentari Da Rosa Bologna", "Alimentari Da Rosa Modena"),
    devices=("Cassa 1", "Cassa 1", "Cassa 2"),
    printers=("Stampante fiscale", "Etichettatrice"),
    categories=(
        CategorySpec("Pane e pasta", "staple", _i(
            "Pane casereccio 500g|2.40; Tigelle 6 pz|3.20; Spaghetti De Cecco 500g|1.79;"
            "Tortellini freschi 250g|5.90; Tagliatelle all'uovo 250g|2.90; Farina 00 1kg|1.19")),
        CategorySpec("Latticini", "staple", _i(
            "Latte fresco Granarolo 1L|1.69; Parmigiano Reggiano 24 mesi 300g|7.90;"
            "Mozzarella di bufala 250g|3.90; Squacquerone 250g|2.80; Burro 250g|2.70")),
        CategorySpec("Frutta e verdura", "staple", _i(
            "Mele Fuji al kg|~2.49; Pomodori ciliegini 500g|2.29; Insalata gentile|1.20;"
            "Arance Tarocco al kg|~1.99; Zucchine al kg|~2.19")),
        CategorySpec("Salumi", "reduced", _i(
            "Mortadella Bologna IGP etto|~2.40; Prosciutto di Parma etto|~3.90;"
            "Salame Felino etto|~2.90; Coppa piacentina etto|~3.20; Zampone Modena|12.90")),
        CategorySpec("Dispensa", "reduced", _i(
            "Zucchero 1kg|1.29; Passata di pomodoro Mutti|1.49; Tonno Rio Mare 3x80g|4.29;"
            "Aceto balsamico di Modena IGP|6.90; Miele millefiori 500g|5.40")),
        CategorySpec("Erbe aromatiche", "herbs", _i(
            "Basilico fresco vaso|1.90; Rosmarino fresco|1.20; Salvia fresca|1.20;"
            "Origano secco|1.60")),
        CategorySpec("Bevande", "standard", _i(
            "Acqua San Benedetto 1,5L|0.59; Coca-Cola 1,5L|1.99; Chinotto San Pellegrino|1.20;"
            "Caffè Lavazza Qualità Rossa 250g|4.99; Birra Peroni 66cl|1.59")),
        CategorySpec("Vini", "standard", _i(
            "Lambrusco Grasparossa|6.90; Sangiovese di Romagna|7.50; Pignoletto frizzante|6.50;"
            "Prosecco DOC|8.90"), Decimal("0.45")),
        CategorySpec("Casa e igiene", "standard", _i(
            "Detersivo piatti Svelto|1.99; Carta igienica 8 rotoli|3.49; Sapone Marsiglia|1.29;"
            "Sacchetti compostabili|0.10"), Decimal("0.50")),
    ),
    modifiers=(),
    first_names=("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara",
                 "Matteo", "Elena", "Davide", "Martina", "Andrea", "Valentina", "Stefano"),
    last_names=("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
                "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "Mazzoni"),
    companies=("Trattoria Il Portico srl", "Studio Bianchi & Associati", "Ferramenta Gallo snc",
               "Circolo ARCI San Donato", "Ristorante Al Sangiovese srl"),
    streets=("Via dell'Indipendenza", "Via Rizzoli", "Strada Maggiore", "Via Emilia Centro",
             "Corso Canalgrande", "Via San Vitale", "Via Zamboni"),
    towns=(("40126", "Bologna"), ("40125", "Bologna"), ("41121", "Modena"),
           ("40033", "Casalecchio di Reno"), ("41012", "Carpi")),
    phone_pattern="+39 3## ### ####",
    email_domains=("libero.it", "gmail.com", "virgilio.it", "alice.it"),
    vat_number_pattern="IT###########",
    barcode_prefix="80",
)

_BG = Profile(
    code="bg_retail", country="BG", currency="BGN", timezone="Europe/Sofia",
    vat_rates=_d("20", "9", "0"),
    vat_classes=(("standard", Decimal(20)), ("reduced", Decimal(9)), ("exempt", Decimal(0))),
    payment_names=("В брой", "Дебитна карта", "Ваучер", "Банков превод", "Visa", "Карта за лоялност",
                   "Ваучер за храна", "American Express", "Mastercard"),
    payment_mix=(62, 8, 1, 1, 12, 1, 3, 0, 12),
    traffic="retail",
    establishments=("Магазин Света Неделя София", "Магазин Капана Пловдив"),
    devices=("Каса 1", "Каса 1", "Каса 2"),
    printers=("Фискален принтер",),
    categories=(
        CategorySpec("Хляб и закуски", "standard", _i(
            "Хляб Добруджа 650г|1.89; Баница със сирене|2.20; Козунак 400г|5.40;"
            "Кифла с мармалад|0.90; Пълнозърнест хляб|2.40")),
        CategorySpec("Млечни продукти", "standard", _i(
            "Кисело мляко Верея 400г|1.49; Сирене краве 400г|7.90; Кашкавал Витоша 400г|9.80;"
            "Айрян 500мл|1.20; Прясно мляко 1л|2.49")),
        CategorySpec("Напитки", "standard", _i(
            "Минерална вода Девин 1.5л|1.09; Бира Загорка 500мл|1.69; Бира Каменица 500мл|1.59;"
            "Ракия Пещерска 700мл|16.90; Вино Мавруд 750мл|12.50; Кока-Кола 2л|3.39")),
        CategorySpec("Сладкиши", "standard", _i(
            "Шоколад Своге 80г|2.29; Вафла Боровец|0.89; Локум с орехи|3.90;"
            "Бисквити Закуска|1.59")),
        CategorySpec("Бебешки храни", "reduced", _i(
            "Бебешко пюре ябълка|2.10; Адаптирано мляко 400г|21.90; Бебешка каша ориз|5.60")),
        CategorySpec("Книги и вестници", "reduced", _i(
            "Вестник Труд|1.20; Кръстословици Си Ем|1.50; Книга Под игото|14.90")),
        CategorySpec("Ваучери", "exempt", _i("Ваучер за подарък|~20.00; Такса доставка|~3.00"),
                     Decimal("0")),
    ),
    modifiers=(),
    first_names=("Иван", "Мария", "Георги", "Елена", "Димитър", "Десислава", "Николай",
                 "Петя", "Стоян", "Гергана", "Христо", "Радостина", "Васил", "Теодора"),
    last_names=("Иванов", "Петрова", "Георгиев", "Димитрова", "Николов", "Стоянова", "Христов",
                "Тодорова", "Василев", "Попова", "Маринов", "Колева", "Ангелов", "Илиева"),
    companies=("Софийски хлебозавод ЕООД", "Транспорт Пловдив ООД", "Счетоводна къща Балкан",
               "Строймонтаж 2000 ЕООД", "Кафе Витоша ООД"),
    streets=("бул. Витоша", "ул. Граф Игнатиев", "бул. Цар Освободител", "ул. Раковски",
             "ул. Княз Александър I", "ул. Отец Паисий"),
    towns=(("1000", "София"), ("1142", "София"), ("4000", "Пловдив"), ("4003", "Пловдив"),
           ("9000", "Варна")),
    phone_pattern="+359 88# ### ###",
    email_domains=("abv.bg", "gmail.com", "mail.bg", "dir.bg"),
    vat_number_pattern="BG#########",
    barcode_prefix="380",
)

_AL = Profile(
    code="al_retail", country="AL", currency="ALL", timezone="Europe/Tirane",
    vat_rates=_d("20", "6", "0"),
    vat_classes=(("standard", Decimal(20)), ("reduced", Decimal(6)), ("exempt", Decimal(0))),
    payment_names=("Cash", "Kartë debiti", "Kupon", "Transfertë bankare", "Visa",
                   "Kartë besnikërie", "Tiketë ushqimi", "American Express", "Mastercard"),
    payment_mix=(70, 6, 1, 2, 10, 1, 0, 0, 10),
    traffic="retail",
    establishments=("Market Blloku Tiranë", "Market Durrës Plazh"),
    devices=("Arka 1", "Arka 1", "Arka 2"),
    printers=("Printer fiskal",),
    categories=(
        CategorySpec("Bukë dhe brumëra", "standard", _i(
            "Bukë fshati|90.00; Byrek me spinaq|150.00; Byrek me djathë|150.00;"
            "Simite|60.00; Petulla|80.00")),
        CategorySpec("Bulmet", "standard", _i(
            "Djathë i bardhë Gjirokastra 500g|650.00; Kos Erza 400g|150.00; Dhallë 1L|120.00;"
            "Qumësht i freskët 1L|160.00; Kaçkavall 400g|850.00")),
        CategorySpec("Pije", "standard", _i(
            "Ujë Glina 1.5L|70.00; Birrë Korça 500ml|140.00; Birrë Tirana 500ml|130.00;"
            "Raki rrushi 700ml|1200.00; Verë Kallmet 750ml|1400.00; Kafe Turke 100g|250.00;"
            "Lëng Pjeshke 1L|220.00")),
        CategorySpec("Ëmbëlsira", "standard", _i(
            "Bakllava copë|180.00; Trileçe|250.00; Kurabie 250g|300.00; Shëndetlie|200.00")),
        CategorySpec("Libra dhe shtyp", "reduced", _i(
            "Gazeta Panorama|80.00; Libër Kronikë në gur|1200.00; Fjalëkryq|100.00")),
        CategorySpec("Shërbime", "exempt", _i(
            "Rimbushje telefoni|~500.00; Kartë dhuratë|~2000.00"), Decimal("0")),
    ),
    modifiers=(),
    first_names=("Arben", "Elira", "Besnik", "Anila", "Gentian", "Blerina", "Ilir", "Jonida",
                 "Erion", "Mirela", "Klodian", "Erjona", "Dritan", "Ledia"),
    last_names=("Hoxha", "Shehu", "Dervishi", "Leka", "Gjoka", "Krasniqi", "Çela", "Muça",
                "Kola", "Basha", "Doda", "Meta", "Prifti", "Zeneli"),
    companies=("Ndërtimi Tirana shpk", "Kafe Blloku shpk", "Studio Ligjore Leka",
               "Transport Durrës shpk", "Hotel Adriatik shpk"),
    streets=("Rruga Ismail Qemali", "Bulevardi Dëshmorët e Kombit", "Rruga Myslym Shyri",
             "Rruga e Durrësit", "Rruga Taulantia", "Rruga Pjetër Bogdani"),
    towns=(("1001", "Tiranë"), ("1019", "Tiranë"), ("2001", "Durrës"), ("2003", "Durrës"),
           ("3001", "Elbasan")),
    phone_pattern="+355 69 ### ####",
    email_domains=("gmail.com", "yahoo.com", "abissnet.al", "outlook.com"),
    vat_number_pattern="L########A",
    barcode_prefix="530",
)

_EC = Profile(
    code="ec_restaurant", country="EC", currency="USD", timezone="America/Guayaquil",
    vat_rates=_d("15", "0"),
    vat_classes=(("standard", Decimal(15)), ("exempt", Decimal(0))),
    payment_names=("Efectivo", "Tarjeta de débito", "Vale", "Transferencia", "Visa",
                   "Tarjeta prepago", "Tarjeta de alimentación", "American Express", "Mastercard"),
    payment_mix=(45, 12, 1, 8, 14, 1, 0, 4, 15),
    traffic="hospitality", reservations=True, service_charge=Decimal(10),
    service_product="Servicio 10%",
    business_day_start_hour=5,
    establishments=("Picantería La Costeña Urdesa", "Picantería La Costeña Samborondón"),
    devices=("Caja principal", "Caja principal", "Caja terraza"),
    printers=("Cocina", "Bar", "Caja"),
    categories=(
        CategorySpec("Entradas", "standard", _i(
            "Patacones con queso|4.50; Empanadas de verde (2)|3.80; Bolón de verde mixto|4.20;"
            "Chifles con chicharrón|5.50; Humitas|2.80")),
        CategorySpec("Platos fuertes", "standard", _i(
            "Encebollado de albacora|7.50; Ceviche de camarón|11.00; Seco de pollo|8.50;"
            "Churrasco|10.50; Bandera costeña|12.50; Fritada con mote|9.50; Guatita|8.00;"
            "Arroz con menestra y carne asada|9.00; Cazuela de mariscos|13.50;"
            "Encocado de pescado|12.00; Llapingachos|7.50")),
        CategorySpec("Bebidas", "standard", _i(
            "Jugo de naranjilla|2.50; Jugo de maracuyá|2.50; Batido de guanábana|3.50;"
            "Coca-Cola 500ml|1.50; Agua Güitig|1.25; Cerveza Pilsener 600ml|3.50;"
            "Cerveza Club Premium|3.80; Café pasado|1.75; Canelazo|4.50")),
        CategorySpec("Postres", "standard", _i(
            "Helado de paila|3.00; Dulce de higos con queso|3.50; Espumilla|2.00;"
            "Tres leches|3.75")),
        CategorySpec("Otros", "exempt", _i(
            "Tarjeta de regalo|~25.00; Envío a domicilio|~2.50; Servicio 10%|~0.00"),
            Decimal("0")),
    ),
    modifiers=(
        ModifierGroup("Acompañantes", "popup", "standard", _i(
            "Arroz extra|1.00; Maduro frito|1.25; Patacones extra|1.50; Aguacate|1.50;"
            "Ají criollo|0.00"),
            categories=("Platos fuertes",)),
    ),
    first_names=("José", "María", "Luis", "Carmen", "Carlos", "Gabriela", "Jorge", "Andrea",
                 "Fernando", "Daniela", "Xavier", "Paola", "Andrés", "Verónica"),
    last_names=("Zambrano", "Mendoza", "Cedeño", "Vera", "Macías", "Moreira", "Álava",
                "Intriago", "Bravo", "Alcívar", "Pincay", "Villacís", "Jaramillo", "Cevallos"),
    companies=("Importadora Costa Azul S.A.", "Constructora Guayas Cía. Ltda.",
               "Consultores del Pacífico S.A.", "Eventos Samborondón S.A.",
               "Transportes Daule Cía. Ltda."),
    streets=("Av. Víctor Emilio Estrada", "Calle Las Monjas", "Av. Samborondón km 2.5",
             "Av. 9 de Octubre", "Calle Circunvalación Sur", "Av. Francisco de Orellana"),
    towns=(("090112", "Guayaquil"), ("090505", "Guayaquil"), ("092301", "Samborondón"),
           ("090150", "Guayaquil")),
    phone_pattern="+593 9# ### ####",
    email_domains=("gmail.com", "hotmail.com", "yahoo.com", "outlook.com"),
    vat_number_pattern="09########001",
    barcode_prefix="786",
)

# fmt: on

#: Profiles by code; `be_hospitality` is the CloudPOS merchant.
PROFILES: dict[str, Profile] = {p.code: p for p in (_BE, _NL, _IT, _BG, _AL, _EC)}
