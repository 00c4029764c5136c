"""Name pools for the demo firms: Irish and English names, accents and apostrophes included."""

from __future__ import annotations

from typing import Final

IE_FIRST: Final = (
    "Aoife", "Siobhán", "Niamh", "Saoirse", "Bríd", "Órla", "Caoimhe", "Éabha", "Gráinne",
    "Sinéad", "Róisín", "Máire", "Clodagh", "Deirdre", "Seán", "Ciarán", "Pádraig", "Dónal",
    "Éanna", "Oisín", "Tadhg", "Cormac", "Colm", "Darragh", "Liam", "Conor", "Fiachra", "Ruairí",
    "Mícheál", "Declan", "Zoë", "Jürgen", "Anaïs", "Chloé", "Åsa", "Łukasz", "Agnieszka",
)
IE_LAST: Final = (
    "Byrne", "O'Brien", "Ní Bhriain", "Ó Súilleabháin", "Mac Cárthaigh", "O'Sullivan", "Kelly",
    "Murphy", "Ní Dhomhnaill", "Ó Dálaigh", "Walsh", "O'Connor", "Ó Conchúir", "McCarthy",
    "Fitzgerald", "D'Arcy", "Doyle", "Ní Mhurchú", "Ó Néill", "Brennan", "Kavanagh",
    "Müller", "Nowak", "Dubois", "Ó Ceallaigh", "Mac Giolla Phádraig", "Ní Fhlannagáin",
    "Quinn", "Ó hAodha", "Lynch",
)
EW_FIRST: Final = (
    "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Jack", "Freya",
    "Charlotte", "Thomas", "Siân", "Rhys", "Dafydd", "Eluned", "Zoë", "Chloé", "Renée", "José",
    "Jürgen", "Björn", "Anaïs", "Priya", "Aarav", "Fatima", "Yusuf", "Niamh", "Seán", "Ciarán",
)
EW_LAST: Final = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "O'Brien", "O'Neill",
    "D'Souza", "Müller", "Lloyd", "Hughes", "ap Rhys", "Ní Bhriain", "Wright", "Patel", "Khan",
    "Clarke", "Åberg", "Fitzwilliam", "Le Fèvre", "MacDonald", "Robinson", "Thompson", "Walker",
)
COMPANY_STEMS: Final = (
    "Ó Briain Holdings", "Müller & Söhne", "D'Arcy Logistics", "Harbour Row Developments",
    "Cois Farraige Properties", "Lir Software", "Brú na Bóinne Tours", "Kilkenny Craft Brewers",
    "St. Brigid's Care", "Fáilte Foods", "Ashgrove Motors", "Hawthorn & Finch", "Ríocht Energy",
    "Caffè Bella Vista", "Northside Plumbing", "Glencree Dairies", "Corrib Fisheries",
    "Tír na nÓg Childcare", "Pemberton & Hale", "Ashdown Construction",
)
IE_COMPANY_SUFFIX: Final = ("Ltd", "DAC", "Teoranta", "Unlimited Company")
EW_COMPANY_SUFFIX: Final = ("Ltd", "LLP", "plc", "Limited")

IE_PLACES: Final = (
    ("Dublin", "Co. Dublin", "D02"), ("Cork", "Co. Cork", "T12"), ("Galway", "Co. Galway", "H91"),
    ("Limerick", "Co. Limerick", "V94"), ("Kilkenny", "Co. Kilkenny", "R95"),
    ("Dún Laoghaire", "Co. Dublin", "A96"), ("Ennis", "Co. Clare", "V95"),
    ("Port Láirge", "Co. Waterford", "X91"),
)
EW_PLACES: Final = (
    ("London", "Greater London", "EC1A"), ("Manchester", "Greater Manchester", "M1"),
    ("Bristol", "Bristol", "BS1"), ("Leeds", "West Yorkshire", "LS1"),
    ("Cardiff", "Caerdydd", "CF10"), ("Birmingham", "West Midlands", "B1"),
    ("Brighton", "East Sussex", "BN1"), ("York", "North Yorkshire", "YO1"),
)
STREETS: Final = (
    "Harbour Row", "Main Street", "Sráid an Mhuilinn", "Church Road", "Bóthar na Trá",
    "Station Road", "O'Connell Street", "Quay Street", "Mill Lane", "Ashgrove Park",
    "St. Patrick's Terrace", "Bridge Street", "High Street", "Orchard Close",
)
