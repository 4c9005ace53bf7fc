"""Country data for the synthetic register: names, municipalities, streets, banks, institutions, creditors.

Small hand-written lists (real name frequencies roughly respected by repetition-free weights, real postcodes,
real bank codes and BICs as in schwifty's bank registry) that the synthetic register samples from with integer
indexes, so that generating millions of rows never loops over strings in Python. Serbian Cyrillic variants
are derived from the Latin lists by the official one-to-one transliteration.
"""
from dataclasses import dataclass

# ---- Serbian / Montenegrin Latin -> Cyrillic ----------------------------------------------------------------

_DIGRAPHS = {"Lj": "Љ", "LJ": "Љ", "lj": "љ", "Nj": "Њ", "NJ": "Њ", "nj": "њ", "Dž": "Џ", "DŽ": "Џ", "dž": "џ"}
_LETTERS = dict(zip(
    "ABVGDĐEŽZIJKLMNOPRSTĆUFHCČŠabvgdđežzijklmnoprstćufhcčšŚśŹź",
    "АБВГДЂЕЖЗИЈКЛМНОПРСТЋУФХЦЧШабвгдђежзијклмнопрстћуфхцчшСсЗз",
))


# Montenegrin Cyrillic writes Latin ś ź as с з with an acute accent (С́ З́: letter + U+0301)
_MONTENEGRIN = {"Ś": "С\u0301", "ś": "с\u0301", "Ź": "З\u0301", "ź": "з\u0301"}


def latin_to_cyrillic(text: str, montenegrin: bool = False) -> str:
    """Serbian Latin to Serbian Cyrillic; Montenegrin ś/ź become С́/З́ (montenegrin) or plain с/з (Serbian)."""
    letters = {**_LETTERS, **_MONTENEGRIN} if montenegrin else _LETTERS
    out, i = [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
            continue
        out.append(letters.get(text[i], text[i]))
        i += 1
    return "".join(out)


# ---- Montenegro ----------------------------------------------------------------------------------------------

ME_MALE = (
    "Marko", "Nikola", "Luka", "Petar", "Stefan", "Milan", "Miloš", "Đorđe", "Vuk", "Filip", "Aleksandar",
    "Dragan", "Zoran", "Vladimir", "Dejan", "Željko", "Goran", "Božidar", "Radovan", "Vukašin", "Mirko",
    "Šćepan", "Śćepan", "Veselin", "Branko", "Slobodan", "Čedomir", "Ljubomir", "Njegoš", "Dušan", "Andrija",
    "Danilo", "Balša", "Đuro", "Predrag", "Ivan", "Amer", "Edin", "Emir", "Adnan", "Armin", "Ljubiša",
)
ME_FEMALE = (
    "Milica", "Jovana", "Ana", "Marija", "Teodora", "Anđela", "Sara", "Nina", "Ivana", "Jelena", "Dragana",
    "Snežana", "Vesna", "Gordana", "Ljiljana", "Biljana", "Slavica", "Danijela", "Tamara", "Milena", "Željka",
    "Đurđa", "Božana", "Radmila", "Vukosava", "Zorica", "Stanislava", "Nataša", "Dušica", "Ljubica", "Maša",
    "Amra", "Emina", "Lejla", "Aida", "Senada", "Mirjana", "Kaća", "Śenka", "Źana",
)
ME_FAMILY = (
    "Popović", "Vujović", "Radović", "Đukanović", "Vuković", "Petrović", "Jovanović", "Kovačević", "Marković",
    "Šćekić", "Nikolić", "Bošković", "Lakić", "Mijušković", "Đurović", "Perović", "Bulatović", "Šaranović",
    "Radulović", "Vučinić", "Ivanović", "Knežević", "Milić", "Raičević", "Žižić", "Čabarkapa", "Ćetković",
    "Zečević", "Hodžić", "Muratović", "Kalač", "Ljaljević", "Dedivanović", "Šćepanović", "Śćepanović",
    "Vukčević", "Lješković", "Krivokapić", "Mugoša", "Božović", "Drašković", "Đokić", "Pejović", "Ražnatović",
    "Vojinović", "Čelebić", "Šabović", "Camaj", "Dukaj", "Njegovan", "Medojević", "Brajović",
)

# (municipality, region, postcode, population weight in thousands, JMBG region code)
ME_PLACES = (
    ("Podgorica", "Središnji region", "81000", 190, 21), ("Nikšić", "Središnji region", "81400", 66, 23),
    ("Bijelo Polje", "Sjeverni region", "84000", 38, 28), ("Bar", "Južni region", "85000", 45, 26),
    ("Berane", "Sjeverni region", "84300", 25, 28), ("Herceg Novi", "Južni region", "85340", 31, 26),
    ("Pljevlja", "Sjeverni region", "84210", 24, 27), ("Budva", "Južni region", "85310", 27, 26),
    ("Cetinje", "Središnji region", "81250", 14, 22), ("Kotor", "Južni region", "85330", 22, 26),
    ("Rožaje", "Sjeverni region", "84310", 23, 29), ("Ulcinj", "Južni region", "85360", 21, 26),
    ("Tivat", "Južni region", "85320", 16, 26), ("Danilovgrad", "Središnji region", "81410", 19, 21),
    ("Mojkovac", "Sjeverni region", "84205", 7, 28), ("Kolašin", "Sjeverni region", "81210", 7, 28),
    ("Plav", "Sjeverni region", "84325", 9, 29), ("Žabljak", "Sjeverni region", "84220", 3, 27),
    ("Andrijevica", "Sjeverni region", "84326", 4, 28), ("Plužine", "Sjeverni region", "81435", 3, 23),
    ("Šavnik", "Sjeverni region", "81450", 2, 23), ("Gusinje", "Sjeverni region", "84326", 4, 29),
    ("Petnjica", "Sjeverni region", "84309", 5, 28), ("Tuzi", "Središnji region", "81206", 12, 21),
    ("Zeta", "Središnji region", "81304", 16, 21),
)
ME_STREETS = (
    "Bulevar Svetog Petra Cetinjskog", "Njegoševa", "Slobode", "Vaka Đurovića", "13. jula", "Bokeška",
    "Kralja Nikole", "Ivana Crnojevića", "Jovana Tomaševića", "Baja Pivljanina", "Serdara Jola Piletića",
    "Đoka Miraševića", "Oktobarske revolucije", "Ulica Hercegovačka", "Rista Stijovića", "Moskovska",
    "Bulevar Džordža Vašingtona", "Marka Miljanova", "Šušanj bb", "Trg Šćepana Malog", "Ćemovsko polje",
    "Zetskih vladara", "Stanka Dragojevića", "Ljubljanska", "Vuka Karadžića",
)
ME_INSTITUTIONS = (
    "JU Dom starih „Grabovac“ Risan", "JU Dom starih „Pljevlja“", "JU Zavod „Komanski most“",
    "JU Dječji dom „Mladost“ Bijela", "JU Centar za socijalni rad Podgorica", "JU Dom starih Bijelo Polje",
    "JU Resursni centar „Podgorica“", "JU Centar „Ljubović“",
)
ME_ENFORCERS = (
    "Javni izvršitelj Marko Lakić", "Javni izvršitelj Vesna Pejović", "Javni izvršitelj Dragan Šćekić",
    "Javni izvršitelj Ljiljana Đurović", "Javni izvršitelj Nikola Bošković",
)
# (bank code, BIC, share): the commercial banks of schwifty's registry for ME (not the central bank)
ME_BANKS = (
    ("510", "CKBCMEPG", 24), ("520", "HBBAMEPG", 14), ("530", "MNBAMEPG", 13), ("535", "NIKBMEP2", 8),
    ("540", "OPPOMEPG", 14), ("555", "HAABMEPG", 7), ("560", "UNCBMEPG", 3), ("565", "LOVBMEPG", 5),
    ("570", "ZBCGMEPG", 3), ("575", "TCZBMEPG", 4), ("580", "AZMNMEPG", 5),
)

# ---- Serbia --------------------------------------------------------------------------------------------------

RS_MALE = (
    "Nikola", "Luka", "Stefan", "Lazar", "Marko", "Milan", "Miloš", "Đorđe", "Aleksandar", "Nemanja",
    "Dragan", "Zoran", "Goran", "Dejan", "Saša", "Dušan", "Vladimir", "Ivan", "Slobodan", "Miodrag",
    "Žarko", "Čedomir", "Ljubiša", "Radoslav", "Vojislav", "Predrag", "Bogdan", "Uroš", "Vuk", "Nebojša",
)
RS_FEMALE = (
    "Milica", "Jelena", "Ana", "Marija", "Jovana", "Ivana", "Dragana", "Snežana", "Gordana", "Ljiljana",
    "Mirjana", "Vesna", "Tijana", "Teodora", "Sofija", "Anđela", "Kristina", "Nataša", "Biljana", "Danijela",
    "Žaklina", "Đurđina", "Ljubinka", "Slađana", "Radmila", "Dušanka", "Olivera", "Vera", "Nevena", "Katarina",
)
RS_FAMILY = (
    "Jovanović", "Petrović", "Nikolić", "Marković", "Đorđević", "Stojanović", "Ilić", "Stanković", "Pavlović",
    "Milošević", "Popović", "Đokić", "Todorović", "Živković", "Kostić", "Ristić", "Lazić", "Mitrović",
    "Savić", "Obradović", "Stevanović", "Kovačević", "Janković", "Mladenović", "Radovanović", "Šarić",
    "Tomić", "Milenković", "Čolić", "Ćirić", "Lukić", "Marjanović", "Vasić", "Radosavljević", "Zdravković",
    "Jelić", "Džodić", "Ljubisavljević", "Njegovan", "Gajić",
)
# (municipality, district, region, postcode, weight, JMBG region code)
RS_PLACES = (
    ("Beograd", "Grad Beograd", "Beogradski region", "11000", 1680, 71),
    ("Novi Sad", "Južnobački okrug", "Region Vojvodine", "21000", 368, 80),
    ("Niš", "Nišavski okrug", "Region Južne i Istočne Srbije", "18000", 260, 73),
    ("Kragujevac", "Šumadijski okrug", "Region Šumadije i Zapadne Srbije", "34000", 172, 72),
    ("Subotica", "Severnobački okrug", "Region Vojvodine", "24000", 123, 81),
    ("Zrenjanin", "Srednjebanatski okrug", "Region Vojvodine", "23000", 105, 85),
    ("Pančevo", "Južnobanatski okrug", "Region Vojvodine", "26000", 115, 86),
    ("Čačak", "Moravički okrug", "Region Šumadije i Zapadne Srbije", "32000", 106, 78),
    ("Kraljevo", "Raški okrug", "Region Šumadije i Zapadne Srbije", "36000", 110, 78),
    ("Novi Pazar", "Raški okrug", "Region Šumadije i Zapadne Srbije", "36300", 107, 79),
    ("Smederevo", "Podunavski okrug", "Region Južne i Istočne Srbije", "11300", 98, 75),
    ("Leskovac", "Jablanički okrug", "Region Južne i Istočne Srbije", "16000", 123, 74),
    ("Valjevo", "Kolubarski okrug", "Region Šumadije i Zapadne Srbije", "14000", 82, 77),
    ("Kruševac", "Rasinski okrug", "Region Šumadije i Zapadne Srbije", "37000", 113, 72),
    ("Vranje", "Pčinjski okrug", "Region Južne i Istočne Srbije", "17500", 74, 74),
    ("Šabac", "Mačvanski okrug", "Region Šumadije i Zapadne Srbije", "15000", 105, 77),
    ("Užice", "Zlatiborski okrug", "Region Šumadije i Zapadne Srbije", "31000", 70, 79),
    ("Sombor", "Zapadnobački okrug", "Region Vojvodine", "25000", 77, 81),
    ("Zaječar", "Zaječarski okrug", "Region Južne i Istočne Srbije", "19000", 52, 76),
    ("Jagodina", "Pomoravski okrug", "Region Šumadije i Zapadne Srbije", "35000", 66, 72),
)
RS_STREETS = (
    "Kralja Petra I", "Bulevar oslobođenja", "Njegoševa", "Cara Dušana", "Vojvode Stepe", "Kneza Miloša",
    "Karađorđeva", "Nemanjina", "Bulevar kralja Aleksandra", "Jurija Gagarina", "Svetozara Markovića",
    "Žarka Zrenjanina", "Vuka Karadžića", "Cara Lazara", "Ljubljanska", "Vojvode Mišića", "Đure Đakovića",
    "Čika Ljubina", "Trg slobode", "Omladinska",
)
RS_INSTITUTIONS = (
    "Gerontološki centar Beograd", "Dom za decu i omladinu „Jefimija“ Kruševac",
    "Centar za socijalni rad Novi Sad", "Dom za odrasla invalidna lica Čačak", "Gerontološki centar Niš",
    "Zavod za vaspitanje dece i omladine Beograd",
)
RS_ENFORCERS = (
    "Javni izvršitelj Dragana Ilić", "Javni izvršitelj Miloš Stanković", "Javni izvršitelj Snežana Đokić",
    "Javni izvršitelj Goran Živković",
)
# Banka Poštanska štedionica (200, SBPORSBG) holds the accounts benefits are paid into; schwifty's registry
# lacks it, which IBAN validation does not need.
RS_BANKS = (
    ("200", "SBPORSBG", 30), ("160", "DBDBRSBGXXX", 20), ("170", "BACXRSBG", 12), ("265", "RZBSRSBGXXX", 10),
    ("340", "GIBARS22", 8),
    ("105", "AIKBRS22XXX", 10), ("250", "ERBKRSBG", 5), ("330", "MEBARS22", 5),
    ("220", "PRCBRSBG", 4), ("150", "KRAGRS22XXX", 3), ("165", "HAABRSBGXXX", 3),
    ("180", "JUBARSBGXXX", 3), ("155", "CABARS22XXX", 3), ("125", "PIRBRSBGXXX", 2), ("145", "LIKIRSBG", 2),
)

# ---- Ukraine -------------------------------------------------------------------------------------------------

UA_MALE = (
    "Олександр", "Андрій", "Іван", "Сергій", "Микола", "Василь", "Дмитро", "Володимир", "Юрій", "Олег",
    "Богдан", "Тарас", "Максим", "Артем", "Євген", "Віктор", "Петро", "Михайло", "Степан", "Ярослав",
    "Григорій", "Анатолій", "Роман", "Денис", "Ігор",
)
UA_FEMALE = (
    "Олена", "Наталія", "Тетяна", "Ірина", "Світлана", "Оксана", "Юлія", "Марія", "Ганна", "Людмила",
    "Катерина", "Галина", "Надія", "Валентина", "Софія", "Анастасія", "Вікторія", "Дарина", "Ольга",
    "Лариса", "Зоряна", "Соломія", "Євгенія", "Христина", "Ніна",
)
# patronymics derive from the father's given name; the two lists are aligned (male, female)
UA_PATRONYMIC_MALE = (
    "Олександрович", "Андрійович", "Іванович", "Сергійович", "Миколайович", "Васильович", "Дмитрович",
    "Володимирович", "Юрійович", "Олегович", "Богданович", "Тарасович", "Петрович", "Михайлович",
    "Степанович", "Ярославович", "Григорович", "Анатолійович", "Романович", "Ігорович",
)
UA_PATRONYMIC_FEMALE = (
    "Олександрівна", "Андріївна", "Іванівна", "Сергіївна", "Миколаївна", "Василівна", "Дмитрівна",
    "Володимирівна", "Юріївна", "Олегівна", "Богданівна", "Тарасівна", "Петрівна", "Михайлівна",
    "Степанівна", "Ярославівна", "Григорівна", "Анатоліївна", "Романівна", "Ігорівна",
)
UA_FAMILY_MALE = (
    "Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Мельник", "Шевчук",
    "Поліщук", "Бойко", "Ковальчук", "Савченко", "Руденко", "Марченко", "Мороз", "Павленко", "Клименко",
    "Левченко", "Гончаренко", "Вовк", "Кузьменко", "Петренко", "Іваненко", "Харченко", "Заїка",
    "Ковальський", "Яворський", "Грушевський", "Соловйов", "Федоров", "Лисенко", "Гнатюк", "Юрченко",
)
UA_FAMILY_FEMALE = (
    "Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Мельник", "Шевчук",
    "Поліщук", "Бойко", "Ковальчук", "Савченко", "Руденко", "Марченко", "Мороз", "Павленко", "Клименко",
    "Левченко", "Гончаренко", "Вовк", "Кузьменко", "Петренко", "Іваненко", "Харченко", "Заїка",
    "Ковальська", "Яворська", "Грушевська", "Соловйова", "Федорова", "Лисенко", "Гнатюк", "Юрченко",
)
# (town, raion, oblast, postcode, weight, region code: unused, Ukrainian tax ids carry no region)
UA_PLACES = (
    ("Київ", "Київ", "м. Київ", "01001", 2950, 80),
    ("Харків", "Харківський район", "Харківська область", "61001", 1400, 63),
    ("Одеса", "Одеський район", "Одеська область", "65001", 1000, 51),
    ("Дніпро", "Дніпровський район", "Дніпропетровська область", "49000", 960, 12),
    ("Львів", "Львівський район", "Львівська область", "79000", 720, 46),
    ("Запоріжжя", "Запорізький район", "Запорізька область", "69000", 710, 23),
    ("Вінниця", "Вінницький район", "Вінницька область", "21000", 370, 5),
    ("Полтава", "Полтавський район", "Полтавська область", "36000", 280, 53),
    ("Чернігів", "Чернігівський район", "Чернігівська область", "14000", 280, 74),
    ("Житомир", "Житомирський район", "Житомирська область", "10000", 260, 18),
    ("Черкаси", "Черкаський район", "Черкаська область", "18000", 270, 71),
    ("Суми", "Сумський район", "Сумська область", "40000", 260, 59),
    ("Рівне", "Рівненський район", "Рівненська область", "33000", 245, 56),
    ("Івано-Франківськ", "Івано-Франківський район", "Івано-Франківська область", "76000", 240, 26),
    ("Тернопіль", "Тернопільський район", "Тернопільська область", "46000", 225, 61),
    ("Луцьк", "Луцький район", "Волинська область", "43000", 215, 7),
    ("Ужгород", "Ужгородський район", "Закарпатська область", "88000", 115, 21),
    ("Хмельницький", "Хмельницький район", "Хмельницька область", "29000", 275, 68),
    ("Кропивницький", "Кропивницький район", "Кіровоградська область", "25000", 225, 35),
    ("Миколаїв", "Миколаївський район", "Миколаївська область", "54000", 470, 48),
    ("Чернівці", "Чернівецький район", "Чернівецька область", "58000", 265, 73),
    ("Біла Церква", "Білоцерківський район", "Київська область", "09100", 210, 32),
    ("Бровари", "Броварський район", "Київська область", "07400", 110, 32),
)
UA_STREETS = (
    "вул. Шевченка", "вул. Івана Франка", "просп. Незалежності", "вул. Грушевського", "вул. Лесі Українки",
    "вул. Соборна", "вул. Миру", "вул. Січових Стрільців", "вул. Садова", "вул. Героїв Майдану",
    "вул. Богдана Хмельницького", "вул. Гоголя", "вул. Шкільна", "вул. Зелена", "вул. Степана Бандери",
    "бульв. Тараса Шевченка", "вул. Київська", "вул. Центральна", "вул. Ярослава Мудрого", "вул. Підгірна",
)
UA_INSTITUTIONS = (
    "КЗ «Київський міський геріатричний пансіонат»", "Харківський обласний будинок-інтернат для громадян похилого віку",
    "КУ «Центр надання соціальних послуг» м. Львова", "Одеський психоневрологічний інтернат",
    "Будинок дитини «Надія» м. Вінниця",
)
UA_ENFORCERS = (
    "Приватний виконавець Олена Шевчук", "Приватний виконавець Андрій Мельник",
    "Відділ ДВС Шевченківського району м. Києва", "Приватний виконавець Тарас Гнатюк",
)
# (MFO bank code, BIC or None, share); schwifty's UA registry has no BICs, so none is written
UA_BANKS = (
    ("305299", None, 35), ("300465", None, 20), ("322001", None, 15), ("300335", None, 6),
    ("320478", None, 5), ("334851", None, 6), ("307770", None, 5), ("300346", None, 4), ("322313", None, 4),
)


@dataclass(frozen=True)
class CountryData:
    """Everything the generator samples from for one country (tuples so the data stays immutable)."""

    code: str            # "me" | "rs" | "ua"
    iso: str             # ISO 3166 alpha-2, also the IBAN country
    cyrillic_share: float  # share of persons whose names are recorded in Cyrillic
    male: tuple
    female: tuple
    family_male: tuple
    family_female: tuple
    patronymic_male: tuple | None
    patronymic_female: tuple | None
    places: tuple        # (town, district, region, postcode, weight, tax-id region code)
    streets: tuple
    institutions: tuple
    enforcers: tuple
    banks: tuple         # (bank code, BIC or None, weight)
    phone_prefixes: tuple


def _me_places():
    # Montenegro has no districts between municipality and region: the municipality is the district
    return tuple((town, town, region, post, weight, code) for town, region, post, weight, code in ME_PLACES)


COUNTRIES = {
    "me": CountryData("me", "ME", 0.12, ME_MALE, ME_FEMALE, ME_FAMILY, ME_FAMILY, None, None, _me_places(),
                      ME_STREETS, ME_INSTITUTIONS, ME_ENFORCERS, ME_BANKS, ("+38267", "+38268", "+38269")),
    "rs": CountryData("rs", "RS", 0.55, RS_MALE, RS_FEMALE, RS_FAMILY, RS_FAMILY, None, None, RS_PLACES,
                      RS_STREETS, RS_INSTITUTIONS, RS_ENFORCERS, RS_BANKS,
                      ("+38160", "+38163", "+38164", "+38165")),
    "ua": CountryData("ua", "UA", 1.0, UA_MALE, UA_FEMALE, UA_FAMILY_MALE, UA_FAMILY_FEMALE,
                      UA_PATRONYMIC_MALE, UA_PATRONYMIC_FEMALE, UA_PLACES, UA_STREETS, UA_INSTITUTIONS,
                      UA_ENFORCERS, UA_BANKS, ("+38050", "+38067", "+38093", "+38097")),
}
