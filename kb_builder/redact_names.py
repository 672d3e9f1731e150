"""Person names found by recognition, not only from a list.

Chinese: jieba's part-of-speech tagger marks person names (`nr`), but its
dictionary also tags ordinary words that way (毛巾, 高峰, 洪水), and it
splits names whose given part is a word (陈 / 美丽, 欧阳 / 娜娜). So a tag
counts only when the word starts with a surname and is not a common
dictionary word, a lone surname is joined to the one- or two-character
word after it, and names the tagger misses are caught by their forms:
小王, 老李, 张经理, 李工, 王姐, 我叫…, 姓何. Traditional text is tagged on
its Simplified form (OpenCC, same length) so both scripts behave alike.
A candidate that would cut a dictionary word in two (老高兴, 施工) is dropped.

English: a capitalised name after Mr/Ms/Mrs/Dr; two capitalised words that
are pinyin with a surname among them (Wang Lei, Mei Chen); a given name
followed by a common surname (Sarah Johnson); a given name from
gender-guesser's list of about 33,000 first names followed by a Western,
Cantonese, Hokkien or pinyin surname (Derek Siu, Michelle Tan); a
capitalised word after "my manager", "named", "I'm". Every capitalised word
is tried as the start of a pair, so a sentence start or a verb before the
name ("Call Jenny Wong") does not hide it. Pairs that are places
(Hong Kong and Macau districts and stations: Wong Tai Sin, Lam Tin) or that
end in a place or organisation noun (Jade Garden, Queen Mary Hospital) stay.
Everything is matched at word boundaries.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .redact_numbers import Hit

# The common single-character surnames (about 97 % of people), Simplified and Traditional.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常"
    "温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂"
    "成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫"
    "费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝区冼湛"
    "張劉陳楊黃趙吳孫馬許韓馮鄧曹彭蕭肖董袁潘蔣蔡葉蘇魏呂盧鍾譚陸賈韋鄒熊邱閆段雷龍陶賀顧龔邵萬錢嚴湯溫齊喬龐顏"
    "莊聶魯蘭歐俞紀畢淩駱藍費衛欒鄺鄭謝羅郭許")
COMPOUND_SURNAMES = {"欧阳", "歐陽", "司马", "司馬", "上官", "诸葛", "諸葛", "东方", "東方", "皇甫", "尉迟", "尉遲",
                     "公孙", "公孫", "慕容", "长孙", "長孫", "宇文", "司徒", "夏侯", "轩辕", "軒轅", "令狐", "独孤",
                     "獨孤", "南宫", "南宮", "西门", "西門", "端木", "呼延", "澹台", "百里", "钟离", "鍾離"}
# The surnames common enough to be used in 小王 / 老李 forms.
PREFIX_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
                      "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯史陶黎贺顾毛郝龚邵万"
                      "钱严覃武戴莫孔向汤")
TITLES = ("总经理", "副经理", "经理", "总监", "主任", "主管", "科长", "处长", "部长", "组长", "班长", "队长", "厂长",
          "院长", "所长", "局长", "董事长", "老板", "老师", "师傅", "医生", "大夫", "护士", "律师", "会计", "秘书",
          "助理", "专员", "先生", "女士", "小姐", "太太", "阿姨", "大姐", "大哥", "姐姐", "哥哥", "同学", "老总",
          "总", "工", "姐", "哥", "叔", "姨", "伯", "婶", "嫂", "董", "博", "太", "生", "sir")
TITLE_RE = "|".join(TITLES)  # Simplified: titles are matched on the Simplified form of the text
CUE_BEFORE = re.compile(r"(?:我叫|我是|名叫|叫做|名字是|姓名[:：]?|联系人[:：]?|同事|@)\s*$")
JOINERS = set("和与跟及、同")
# One-character words that follow or precede a name: a dictionary word made of a name's edge and one of them
# (陈说 in 小陈说, 李在 in 老李在) may be split.
FUNCTION_CHARS = set("说讲在和与跟及的也都让把被给对问找是叫请帮去来要会就还又才已姓名")
# Characters that do not occur in given names: particles, negations, pronouns, measure words.
NON_NAME_CHARS = FUNCTION_CHARS | set("被不没也都就向把将从对为于於很太更最这那些个们了着过吗呢吧啊么每各该此其他她它你我您咱")
CUE_AFTER = re.compile(r"^(?:离职|入职|辞职|说|反映|表示|告诉|负责|处理|回复|答应|承诺|提出|提到|认为|的工位|的电话|的手机|同学|打电话|发消息|请假|投诉)")
# Parts of speech after a surname that cannot be a given name.
# Tags of a single character that jieba left after a two-character name: morphemes, not words (豪 ag, 华 ng).
GIVEN_TAGS = {"ag", "ng", "vg", "g", "tg", "dg", "rg", "mg", "nr", "nrt", "nrfg", "j", "a", "b"}
NOT_GIVEN = {"x", "w", "u", "uj", "ul", "p", "c", "y", "e", "o", "m", "q", "r", "d", "f", "zg", "eng"}

PINYIN_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ueng|ang|eng|ing|ong|uai|uan|ian|iao|ua|uo|ue|ui|un|"
    r"ai|ao|an|ei|en|er|ia|ie|in|iu|ou|a|e|i|o|u|v|ü)")
PINYIN_WORD = re.compile(rf"(?:{PINYIN_SYLLABLE}){{1,3}}", re.I)
PINYIN_SURNAMES = {
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu", "hu", "guo",
    "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng", "cao", "peng", "zeng",
    "xiao", "tian", "dong", "yuan", "pan", "yu", "jiang", "cai", "du", "ye", "cheng", "su", "wei", "lu", "ding", "ren",
    "shen", "yao", "cui", "zhong", "tan", "fan", "jin", "shi", "liao", "jia", "xia", "fu", "fang", "bai", "zou", "meng",
    "xiong", "qin", "qiu", "yin", "xue", "yan", "duan", "lei", "hou", "long", "tao", "hao", "gong", "shao", "qian",
    "kong", "mo", "dai", "wen", "kang", "ou", "ouyang", "situ", "zhuge", "shangguan", "mai", "kwok", "chan",
    "wong", "cheung", "lau", "leung", "ng", "lam", "tse", "chow", "yip", "ho", "lee", "tsang", "fung", "lai", "mak",
    "choi", "tam", "siu", "kwan", "yeung", "chu", "au", "lo", "law", "tsui", "hui", "poon", "yiu", "lui", "tong",
    "kuo", "chang", "hsu", "tsai", "hsieh", "chiang", "chou", "yeh", "hung"}
CANTONESE_GIVEN = re.compile(r"(?:ka|wai|man|ming|kin|chun|yan|wing|siu|mei|ling|fai|kit|yee|hung|ying|lok|sze|hoi|"
                             r"ho|kwan|hin|yuk|shan|tsz|chi|pui|suk|wah|ping|fung|kam|sum|yiu|tak|kei|keung|kwong|cheuk|"
                             r"chung|hing|lun|kwai|nga|tung|tsun|chiu|shing|yung|ngai|kiu|yeuk|sheung|wun|chak|kuen)", re.I)
WESTERN_SURNAMES = {
    "Smith", "Johnson", "Williams", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore",
    "Martin", "Jackson", "Thompson", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Allen", "Wright", "Scott",
    "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Rogers", "Morgan", "Cooper", "Peterson", "Bailey", "Kelly",
    "Howard", "Richardson", "Watson", "Bennett", "Hughes", "Sanders", "Myers", "Ross", "Foster", "Powell", "Jenkins",
    "Perry", "Russell", "Sullivan", "Fisher", "Butler", "Barnes", "Henderson", "Coleman", "Patterson", "Graham",
    "Reynolds", "Hamilton", "Wallace", "Gibson", "Kennedy", "Murray", "Ellis", "Harrison", "Fernandez", "McDonald",
    "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres",
    "Nguyen", "Tran", "Singh", "Kumar", "Patel", "Sharma", "Gupta", "Tanaka", "Suzuki", "Sato", "Takahashi", "Kim",
    "Park", "Choi", "Mueller", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Dubois", "Rossi", "Russo", "Silva", "Santos", "Costa", "Novak", "Ivanov", "Petrov", "O'Brien", "O'Connor", "Kowalski"}
# Capitalised words that begin sentences, headings and places, never a given name.
NOT_NAMES = {
    "The", "A", "An", "This", "That", "These", "Those", "Our", "My", "Your", "His", "Her", "Their", "We", "I", "It",
    "He", "She", "They", "You", "Please", "Thanks", "Thank", "Dear", "Hi", "Hello", "And", "But", "Or", "If", "When",
    "After", "Before", "Since", "Because", "While", "Then", "So", "On", "In", "At", "For", "From", "To", "By", "With",
    "Of", "As", "No", "Yes", "Not", "All", "Every", "Each", "Some", "Any", "Room", "Building", "Block", "Floor",
    "Level", "Tower", "Road", "Street", "Department", "Team", "Office", "Desk", "Service", "Services", "Human",
    "Resources", "Finance", "Payroll", "Facilities", "Canteen", "Shuttle", "Security", "Reception", "IT", "HR",
    "VPN", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
    "March", "April", "May", "June", "July", "August", "September", "October", "November", "December", "Problem",
    "Cause", "What", "Where", "Who", "Why", "How", "Step", "Note", "Update", "Manager", "Director", "Engineer",
    "Chinese", "English", "Mandarin", "Cantonese", "American", "British", "Hong", "Kong", "Macau", "Taiwan",
    "China", "Beijing", "Shanghai", "Shenzhen", "Guangzhou", "New", "North", "South", "East", "West", "Central",
    "Sorry", "Fine", "Here", "There", "Today", "Yesterday", "Tomorrow", "Also", "Just", "Still", "Only", "Even",
    "Is", "Was", "Are", "Were", "Has", "Had", "Have", "Do", "Did", "Does", "Can", "Could", "Will", "Would", "Should",
    "Must", "Might", "Submit", "Open", "Close", "Check", "Call", "Mail", "Email", "Report", "Ask", "Tell",
    "Go", "Use", "Get", "See", "Write", "Read", "Ticket", "Order", "Invoice", "Case", "Complaint", "Article",
    "Water", "Air", "Printer", "Coffee", "Lunch", "Dinner", "Breakfast", "Bus", "Car", "Parking", "Staff", "Employee",
    "Ms", "Mr", "Mrs", "Dr", "Miss", "Prof", "Sir", "Madam", "Page", "Form", "Portal", "System", "Leave", "Annual",
    "Sick", "Overtime", "Salary", "Pay", "Bank", "Card", "Phone", "Main", "Gate", "Lobby", "Meeting", "Training",
    "Ltd", "Inc", "Co", "Group", "Company", "Centre", "Center", "Park", "Plaza", "Station", "Line", "Lane"}
# English words that are also pinyin: two of them together are not taken for a name (Long Hang, Sun Tan)
PINYIN_ENGLISH = {"Long", "Bo", "Fan", "Pan", "Tan", "Sun", "Men", "Ran", "Dan", "Gang", "Ping", "Hang", "Bin",
                  "Ding", "Gong", "Man", "He", "She", "Die", "Lie", "Tie", "Pie", "Hen", "Pen", "Ten", "Den", "Bang",
                  "Sang", "Lang", "Wen", "Shi", "Lo", "Ho", "Au", "Ha", "Chi", "Pa", "Ma", "Sea", "Tea", "Pin", "Tin",
                  "Sin", "Fin", "Kin", "Yen", "Zen", "Mao", "Tao", "Dao", "Hua", "Ban", "Can", "Nan", "Wan"}
# Of those, the ones that are not English words: they may start a name written apart (Chi | Keung Ho).
SYLLABLE_NOT_WORD = {"Chi", "Ho", "Lo", "Au", "Ha", "Pa", "Ma", "Shi", "Wen", "Hua", "Mao", "Tao", "Dao", "Ping", "Ding",
                     "Gong", "Bo"}
# Common given names (English-speaking staff and English names of Chinese staff).
GIVEN_NAMES = set("""Aaron Adam Alan Albert Alex Alice Alison Amanda Amy Andrew Andy Angela Anna Anne Annie Anthony
Ben Benjamin Betty Bill Bob Brian Bruce Carl Carol Catherine Charles Charlie Chris Christine Christopher Cindy Claire
Daniel Danny David Dennis Diana Donald Doris Edward Eileen Elaine Eliza Elizabeth Ella Emily Emma Eric Eva Frank Gary
George Grace Hannah Harry Helen Henry Ian Irene Isaac Ivan Ivy Jack Jackie Jacky James Jane Janet Jason Jean Jeff
Jennifer Jenny Jerry Jessica Jim Jimmy Joan Joe John Johnny Jonathan Joseph Joyce Judy Julia Julie Justin Karen Kate
Katherine Kathy Kelly Kenneth Kevin Kitty Larry Laura Lily Linda Lisa Louis Lucy Maggie Margaret Maria Mark Mary
Matthew Melissa Michael Michelle Mike Nancy Nicole Oliver Olivia Oscar Patrick Paul Peggy Peter Philip Rachel Raymond
Rebecca Richard Robert Roger Ronald Rose Ruby Ryan Sam Samuel Sandy Sarah Scott Sharon Simon Sophia Sophie Stella
Stephen Steven Susan Sylvia Teresa Terry Thomas Tiffany Timothy Tina Tom Tommy Tony Tracy Victor Vincent Vivian
Wendy William Winnie Yvonne Zoe Alicia Bella Coco Echo Jade Jasmine Leo Max Nina Penny Queenie Rita Sabrina Stanley
Wayne Wilson Ada Agnes Carmen Cherry Crystal Eddie Felix Gordon Hugo Jacob Kenny Leon Mandy Marco Owen Rick Shirley""".split())
HONORIFIC = re.compile(r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Madam|Mdm)\.?\s*(?:[A-Z][a-z]+|[A-Z]{2,})(?:[\s-](?:[A-Z][a-z]+|[A-Z]{2,}))?(?![A-Za-z])")
NAME_CUE = re.compile(r"(?<![A-Za-z])(?i:(?:(?:my|our|the|his|her|their)\s+(?:line\s+)?(?:manager|supervisor|boss|colleague|co-?worker|team\s*lead(?:er)?|"
                      r"lead|director|landlord|roommate)|named|called|name\s+is|I'm|I\s+am|this\s+is|signed|asked|told|"
                      r"thanks\s+to|cc|dear|hi|hello|by)\s+)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?![A-Za-z])")
CAP_PAIR = re.compile(r"(?<![A-Za-z])([A-Z][a-z]+(?:-[A-Za-z][a-z]+)?|[A-Z]{2,})[ \u00a0]+([A-Z][a-z]+(?:-[A-Z]?[a-z]+)?|[A-Z]{2,})"
                      r"(?:[ \u00a0]+([A-Z][a-z]+))?(?![A-Za-z])")


# Surnames of Hong Kong, Macau, Singapore and Malaysia spellings (Cantonese, Hokkien, Teochew, Hakka) beyond pinyin.
DIALECT_SURNAMES = {
    "wong", "chan", "cheung", "leung", "lam", "ho", "ng", "tsang", "yeung", "chow", "lau", "tse", "kwok", "tan",
    "lim", "goh", "lee", "chu", "lo", "law", "tsui", "hui", "poon", "yiu", "lui", "tong", "mak", "choi", "tam",
    "siu", "kwan", "fung", "lai", "yip", "ip", "au", "so", "to", "kong", "cheng", "chung", "hung", "kam", "ko",
    "kwong", "lok", "man", "mok", "pang", "sin", "sze", "tang", "tsoi", "wai", "wan", "yau", "yim", "yue", "yuen",
    "chiu", "cheuk", "fok", "ku", "kung", "leong", "lei", "sou", "vong", "iao", "ieong", "u", "ong", "teo", "koh",
    "chua", "yeo", "ang", "toh", "seah", "sim", "low", "foo", "quek", "chia", "heng", "neo", "ooi", "khoo", "lew",
    "liew", "yong", "loh", "chong", "soh", "tay", "phua", "tee", "wee", "lum", "chee", "chin", "leow", "hii"}
# A second word that is a given name's surname only when it is capitalised mid-sentence.
NOT_SURNAME_WORDS = {"He", "She", "So", "To", "Man", "Sin", "Low", "Ang", "Tee", "Wee", "U", "Law", "Kong", "Lei", "Ip"}
# Nouns that end the names of places, businesses, documents and events: "Jade Garden", "Grace Period".
PLACE_HEADS = {
    "Garden", "Gardens", "Hospital", "Clinic", "Hotel", "Restaurant", "Cafe", "Café", "Kitchen", "Bakery", "Bar",
    "House", "Hall", "Court", "Mall", "Market", "Square", "Bay", "Harbour", "Harbor", "Bridge", "Estate", "Village",
    "Town", "City", "Club", "School", "College", "University", "Institute", "Academy", "Church", "Temple", "Library",
    "Museum", "Theatre", "Theater", "Cinema", "Stadium", "Avenue", "Terminal", "Airport", "Pier", "Ferry", "Hill",
    "Valley", "Beach", "Island", "Period", "Policy", "Plan", "Scheme", "Day", "Week", "Award", "Fund", "Programme",
    "Program", "Project", "Limited", "Holdings", "Music", "Foods", "Motors", "Insurance", "Trust", "Partners",
    "Associates", "Consulting", "Industries", "Pharmacy", "Store", "Shop", "Supermarket", "Salon", "Gym", "Centre",
    "Center", "Building", "Tower", "Plaza", "Station", "Road", "Street", "Lane", "Park", "Line", "Services", "Bank"}
# Hong Kong and Macau districts, towns and stations written in Cantonese romanisation: they read like names.
PLACES = [
    "Wong Tai Sin", "Lam Tin", "Kwun Tong", "Ho Man Tin", "Lai Chi Kok", "Cheung Sha Wan", "Sham Shui Po", "Mong Kok",
    "Yau Ma Tei", "Tsim Sha Tsui", "Tai Po", "Sha Tin", "Tai Wai", "Tsuen Wan", "Kwai Fong", "Kwai Chung", "Kwai Hing",
    "Tsing Yi", "Tung Chung", "Tin Shui Wai", "Yuen Long", "Tuen Mun", "Sheung Shui", "Fan Ling", "Fanling", "Lo Wu",
    "Lok Ma Chau", "Sai Kung", "Tseung Kwan O", "Po Lam", "Hang Hau", "Tiu Keng Leng", "Yau Tong", "Kowloon Tong",
    "Ngau Tau Kok", "Choi Hung", "Lok Fu", "Wong Chuk Hang", "Ap Lei Chau", "Chai Wan", "Siu Sai Wan",
    "Shau Kei Wan", "Sai Wan Ho", "Tai Koo", "Tin Hau", "Wan Chai", "Sheung Wan", "Sai Ying Pun", "Ma On Shan",
    "Wu Kai Sha", "Heng Fa Chuen", "Tai Kok Tsui", "To Kwa Wan", "Hung Hom", "Shek Kip Mei", "Lai King", "Mei Foo",
    "Nam Cheong", "Tai Wo Hau", "Fo Tan", "Tai Wo", "Kam Sheung", "Siu Hong", "Long Ping", "Chek Lap Kok", "Tai O",
    "Mui Wo", "Lamma", "Cheung Chau", "Shek O", "Repulse Bay", "Pok Fu Lam", "Happy Valley", "So Kwun Wat",
    "Tsz Wan Shan", "San Po Kong", "Kwun Tong", "Lei Yue Mun", "Tai Hang", "Sham Tseng", "Ting Kau",
    "Tai Lam", "Kam Tin", "Pat Heung", "Lau Fau Shan", "Sai Wan", "Kennedy Town", "Fai Chi Kei", "Nam Van",
    "Areia Preta", "Ilha Verde", "Taipa", "Coloane", "Cotai", "Hac Sa", "Ka Ho", "Seac Pai Van", "Lee Gardens",
    "Hang Seng", "Hang Lung", "Sun Hung Kai", "Chung Wah", "Tai Hing", "Tsui Wah", "Fairwood"]
PLACE_RE = re.compile(r"(?<![A-Za-z])(?:" + "|".join(re.escape(p).replace(r"\ ", r"[\s\-]+") for p in
                                                     sorted(set(PLACES), key=len, reverse=True)) + r")(?![A-Za-z])")


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """First names from gender-guesser's dictionary (about 33,000), plus the list above; only capitalised ASCII ones."""
    out = set(GIVEN_NAMES)
    try:
        from importlib.resources import files
        data = files("gender_guesser").joinpath("data/nam_dict.txt").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return frozenset(out)
    for line in data.splitlines():
        if line[:1] in "#=" or not line.strip():
            continue
        parts = line.split()
        if len(parts) > 1 and re.fullmatch(r"[A-Z][a-z]+", parts[1]):
            out.add(parts[1])
    return frozenset(out - NOT_NAMES)


def _surname(word: str) -> bool:
    """A Western, pinyin or Cantonese / Hokkien surname, as the second word of "Given Surname"."""
    if word in NOT_SURNAME_WORDS or not re.fullmatch(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?|O'[A-Z][a-z]+", word):
        return False
    return word in WESTERN_SURNAMES or word.lower() in PINYIN_SURNAMES or word.lower() in DIALECT_SURNAMES


@lru_cache(maxsize=1)
def _jieba():
    import jieba
    import jieba.posseg
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba, jieba.posseg


def _dict_freq(word: str) -> int:
    jieba, _ = _jieba()
    return jieba.dt.FREQ.get(word) or 0


def _is_pinyin(word: str) -> bool:
    return bool(PINYIN_WORD.fullmatch(word)) or bool(CANTONESE_GIVEN.fullmatch(word))


def _cuts_word(tokens: list[tuple[int, int, str, str]], start: int, end: int) -> bool:
    """True when a dictionary word (not a name) crosses the candidate's start or end."""
    for a, b, word, _flag in tokens:
        crosses = (a < start < b) or (a < end < b)
        if crosses and _dict_freq(word) > 0 and len(word) > 1:
            rest = word[:start - a] if a < start else word[end - a:]
            if len(rest) == 1 and rest in FUNCTION_CHARS:
                continue  # 小陈|说: the tagger joined the name's last character with the verb after it
            return True
    return False


def tag(simple: str) -> list[tuple[int, int, str, str]]:
    """jieba's words with their offsets and part-of-speech tags."""
    _, posseg = _jieba()
    tokens, pos = [], 0
    for w in posseg.cut(simple):
        tokens.append((pos, pos + len(w.word), w.word, w.flag))
        pos += len(w.word)
    return tokens


def cuts_word(tokens: list[tuple[int, int, str, str]], start: int, end: int) -> bool:
    return _cuts_word(tokens, start, end)


def chinese_names(simple: str, tokens: list[tuple[int, int, str, str]]) -> list[Hit]:
    """Names in Simplified-form text (the caller converts Traditional without changing length)."""
    hits: list[Hit] = []
    weak: list[tuple[int, int]] = []

    def add(a: int, b: int, priority: int = 40) -> None:
        hits.append(Hit(a, b, "name", priority))

    for i, (a, b, word, flag) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i else None
        if word in COMPOUND_SURNAMES and nxt and 1 <= len(nxt[2]) <= 2 and _cjk(nxt[2]) and nxt[3] not in NOT_GIVEN \
                and (word not in ("东方", "東方") or nxt[3].startswith("nr")):
            add(a, nxt[1])
            continue
        if not flag.startswith("nr") or not _cjk(word):
            continue
        if prev and prev[2] in COMPOUND_SURNAMES:
            continue  # joined above
        if len(word) == 1 and word in SURNAMES:
            # a lone surname: joined to the given name after it, or to a title (handled by the title form)
            if nxt and _cjk(nxt[2]) and 1 <= len(nxt[2]) <= 2 and nxt[3] not in NOT_GIVEN \
                    and not any(ch in NON_NAME_CHARS for ch in nxt[2]) \
                    and not nxt[2].startswith(TITLES) and _dict_freq(nxt[2]) < 20000 \
                    and not (nxt[3] in ("n", "vn", "v") and _dict_freq(nxt[2]) > 200):  # 连|字符: a common noun
                add(a, nxt[1])
            continue
        if not 2 <= len(word) <= 4 or (word[0] not in SURNAMES and word[:2] not in COMPOUND_SURNAMES):
            if len(word) == 2 and word[0] in "小老阿" and (word[1] in PREFIX_SURNAMES or _dict_freq(word) == 0):
                add(a, b)
            continue
        if len(word) == 2 and nxt and len(nxt[2]) == 1 and _cjk(nxt[2]) and nxt[3] in GIVEN_TAGS \
                and nxt[2] not in FUNCTION_CHARS and nxt[2] not in TITLES:
            b = nxt[1]  # 张家|豪: the tagger split a three-character name after its second character
        form = simple[a:b]
        given = form[2:] if form[:2] in COMPOUND_SURNAMES else form[1:]
        if not given or len(given) > 2 or any(ch in NON_NAME_CHARS for ch in given):
            continue  # 单和, 严格执行: a surname character followed by words, not a given name
        freq = _dict_freq(form)
        # a verb after it (说, 处理) is evidence enough for a new word, not for a two-character dictionary word
        # tagged as a name (安保处理了): those need a cue before them or another name beside them
        cue = bool(CUE_BEFORE.search(simple[max(0, a - 6):a])) or \
            (bool(CUE_AFTER.match(simple[b:b + 4])) and (freq == 0 or len(form) >= 3))
        if freq == 0 or (len(form) >= 3 and freq < 100) or cue:
            add(a, b)
        else:
            weak.append((a, b))  # a dictionary word tagged as a name (李娜, but also 白班, 毛巾)
    # a dictionary word tagged as a name (李娜, but also 毛巾) counts when listed with a name: 张伟和李娜
    for a, b in weak:
        before, after = simple[max(0, a - 1):a], simple[b:b + 1]
        if any((h.end == a - 1 and before in JOINERS) or (h.start == b + 1 and after in JOINERS) for h in hits):
            add(a, b)
    # a surname and one or two characters before a verb that only people do: 这件事周建国负责
    for m in re.finditer(rf"([{''.join(SURNAMES)}][\u4e00-\u9fff]{{1,2}}?)(?={CUE_AFTER.pattern[1:]})", simple):
        form = m.group(1)
        if any(ch in NON_NAME_CHARS for ch in form[1:]) or _starts_word(tokens, m.start(1), m.end(1)):
            continue
        if len(form) == 2 and _dict_freq(form) > 0 and not _is_nr_word(form):
            continue
        if _dict_freq(form) == 0 or (_is_nr_word(form) and len(form) >= 3):
            if not _cuts_word(tokens, m.start(1), m.end(1)):
                add(m.start(1), m.end(1))
    # reduplicated given names: 钱多多, 王丽丽
    for m in re.finditer(rf"([{''.join(SURNAMES)}])([\u4e00-\u9fff])\2", simple):
        if _dict_freq(m.group(0)) > 0 or m.group(2) in NON_NAME_CHARS:
            continue  # 冷冰冰, 黑乎乎: adjectives of the same shape are dictionary words
        if not _cuts_word(tokens, m.start(), m.end()) and m.group(1) != m.group(2):
            add(m.start(), m.end())
    # forms the tagger misses: 小王 / 老李 / 阿强 ; 张经理 / 李工 / 王姐 ; 我叫… ; 姓何
    for m in re.finditer(rf"[小老]([{''.join(PREFIX_SURNAMES)}])", simple):
        if not _cuts_word(tokens, m.start(), m.end()) and _dict_freq(m.group(0)) < 300:
            add(m.start(), m.end())
    for m in re.finditer(rf"([{''.join(SURNAMES)}])(?:{TITLE_RE})", simple):
        form = m.group(0)
        if _dict_freq(form) > 0 and not _is_nr_word(form):
            continue
        if _dict_freq(form) > 50:  # 童工, 高工: words first
            continue
        if _cuts_word(tokens, m.start(), m.end()):
            continue
        add(m.start(), m.end())
    for m in re.finditer(r"(?:我叫|名叫|叫做|我的名字是|名字叫|姓名[:：]?\s*|联系人[:：]?\s*|本人)\s*([\u4e00-\u9fff]{2,4}?)"
                         r"(?=[，。,.;；！!？?\s]|是|在|来自|从|的|，|$)", simple):
        if m.group(1)[0] in SURNAMES or m.group(1)[:2] in COMPOUND_SURNAMES:
            add(m.start(1), m.end(1), 45)
    for m in re.finditer(rf"(?:姓)([{''.join(SURNAMES)}])(?![\u4e00-\u9fff]{{0,1}}(?:名|氏))", simple):
        add(m.start(1), m.end(1))
    return hits


def _starts_word(tokens: list[tuple[int, int, str, str]], start: int, end: int) -> bool:
    """True when the surname character begins a dictionary word (查询 in 查询码), or a token inside is a number or particle."""
    for a, b, word, flag in tokens:
        if a == start and b - a >= 2 and _dict_freq(word) > 0 and not flag.startswith("nr"):
            return True
        if start < a < end and flag in NOT_GIVEN:
            return True
    return False


def _is_nr_word(word: str) -> bool:
    _, posseg = _jieba()
    return (posseg.dt.word_tag_tab.get(word) or "").startswith("nr")


def _cjk(s: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in s)


def english_names(text: str) -> list[Hit]:
    hits = [Hit(m.start(), m.end(), "name", 42) for m in HONORIFIC.finditer(text)]
    places = [(m.start(), m.end()) for m in PLACE_RE.finditer(text)]
    given = given_names()
    pos = 0
    while True:
        m = CAP_PAIR.search(text, pos)
        if not m:
            break
        pos = m.start(2)  # every capitalised word starts a pair: "Call Jenny Wong" is tried at Jenny too
        first, last, third = m.group(1), m.group(2), m.group(3)
        if first in NOT_NAMES or (last in NOT_NAMES and last.title() not in WESTERN_SURNAMES):
            continue
        if last in PLACE_HEADS or any(a < m.end(2) and m.start() < b for a, b in places):
            continue
        after = re.match(r"[ \u00a0]+([A-Z][a-z]+)", text[m.end(2):])
        if after and after.group(1) in PLACE_HEADS:
            continue  # Queen Mary Hospital, Jade Garden Restaurant
        f, l_ = first.lower(), last.lower()
        if "-" in f:  # a hyphenated Cantonese given name: Ka-yan Wong
            pinyin = all(_is_pinyin(p) for p in f.split("-")) and _is_pinyin(l_) and l_ in PINYIN_SURNAMES | DIALECT_SURNAMES
            western = False
        else:
            pinyin = (_is_pinyin(f) and _is_pinyin(l_.replace("-", "")) and (f in PINYIN_SURNAMES or l_ in PINYIN_SURNAMES)
                      and not (first.title() in PINYIN_ENGLISH and last.title() in PINYIN_ENGLISH))
            western = last.title() in WESTERN_SURNAMES or first in GIVEN_NAMES or (first in given and _surname(last))
            # the surname first in capitals, as on Hong Kong forms: WONG Jenny, CHAN Tai Man
            western = western or (first.isupper() and _surname(first.title()) and (last in given or _is_pinyin(l_)))
        if pinyin or western:
            start = m.start()
            if "-" not in f and _is_pinyin(f):
                # a given name in two syllables written apart, before the pair: Wai | Man Chan, Mei | Ling Tan
                before = re.search(r"(?<![A-Za-z])([A-Z][a-z]+)[ \u00a0]$", text[:start])
                if before and before.group(1) not in NOT_NAMES and (before.group(1) not in PINYIN_ENGLISH or before.group(1) in SYLLABLE_NOT_WORD) \
                        and _is_pinyin(before.group(1).lower()) \
                        and not any(a < start and before.start(1) < b for a, b in places):
                    start = before.start(1)
            end = m.end() if third and third not in NOT_NAMES and _is_pinyin(third.lower()) and (pinyin or first.isupper()) \
                else m.end(2)
            hits.append(Hit(start, end, "name", 41))
    for m in NAME_CUE.finditer(text):
        words = m.group(1).split()
        while words and words[-1] in NOT_NAMES:
            words.pop()
        if words and words[0] not in NOT_NAMES:
            start = m.start(1)
            hits.append(Hit(start, start + len(" ".join(words)), "name", 41))
    return _merge(hits)


def _merge(hits: list[Hit]) -> list[Hit]:
    """Overlapping name spans as one (Tom Lee + Lee Smith: Tom Lee Smith), so no part of a name is left."""
    out: list[Hit] = []
    for h in sorted(hits, key=lambda h: (h.start, -h.end)):
        if out and h.start < out[-1].end:
            last = out[-1]
            out[-1] = Hit(last.start, max(last.end, h.end), "name", max(last.priority, h.priority))
        else:
            out.append(h)
    return out
