"""The bundled Shakespeare GPT: it loads, transformers agrees, it writes real words, not noise, and it
keeps issue 13's figures: held-out loss <= 1.30 nats/char, <= 35 % repeated word 4-grams in greedy text.

The weights are trained by ``python -m ganstudio.gpt.train`` (recipe in weights/shakespeare-gpt/README.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
import torch

from ganstudio.cli import main
from ganstudio.gpt.generate import SamplingConfig, generate_ids
from ganstudio.gpt.load import load_gpt_folder
from ganstudio.gpt.quality import GOAL_NATS_PER_CHAR, GOAL_REPEATED, HELDOUT_FILE, load_heldout
from ganstudio.settings import SETTINGS

torch.set_num_threads(1)
FOLDER = SETTINGS.weights_dir / "shakespeare-gpt"

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
# The 3,000 most frequent words of the training corpus (Project Gutenberg's Shakespeare, modern
# spelling); they make up 89.5% of its running words.
CORPUS_WORDS = frozenset(
    """
a aaron abide able aboard about above abroad absence absent absolute abus'd abuse accept according account
accuse achilles acquaintance acquainted act action actions adam add addition adieu adriana advance advantage
advice advis'd advise aegeon aeneas afeard affairs affection affections afraid after afternoon afterwards again
against agamemnon age aged ago agrippa ah aid aim air ajax alack alarum alarums alas alb alcibiades alencon
alexander alexas alice alike alive all all's allegiance allow almost alone along alonso aloud already also
although always am ambition ambitious amen amiss among amongst an an't ancient and andrew andronicus angel
angelo angels anger angry anne anon another another's answer answer'd answered antigonus antiochus antipholus
antonio antony any anything apace apart apemantus apparel apparent appear appears appetite appointed approach
approve apt archbishop are argument ariel arise arm arm'd armado armed armour arms army arrest art arthur as
aside ask asleep aspect ass assur'd assurance assure assured at athenian athens attempt attend attendant
attendants attended attending audience audrey aufidius aught aumerle aunt authority autolycus avoid awake away
awhile ay aye babe back bad bade balthazar band banish banish'd banished banishment banquet banquo baptista bar
bardolph bare bark barren base basket bassanio bassianus bastard battle bawd bay be bear beard bearing bears
beast beasts beat beaten beatrice beats beauteous beauty beauty's because become becomes bed bedford been befall
before beg began beggar begin begins begun behalf behaviour beheld behind behold beholding being believe belike
bell belly belov'd beloved below bend benedick benefit bent benvolio berowne bertram beseech beshrew beside
besides best bestow betray better between betwixt beware beyond bianca bid bids big bind biondello bird birds
birth bishop bite bitter black blame bleed bleeding bless bless'd blessed blessing blest blind blood bloody blot
blow blown blows blue blunt blush boast bodies body bohemia bold bolingbroke bond bones book books boot boots
borachio bore born borne borrow bosom bosoms both bottle bottom bought boult bound bounty bow boy boyet boys
brabantio brain brains brakenbury brave bravely breach break breaking breaks breast breath breathe bred breed
breeding bride brief bright bring brings britain broke broken brook brother brother's brothers brought brow
brows brutus buckingham burden burgundy buried burn burning burns burst bury bushy business busy but buy by c
cade caesar caesar's caius caliban call call'd called calls calm cam'st came camillo camp can cannot canst
canterbury cap capitol captain capulet car cardinal care careful cares carried carry casca case cassio cassius
cast castle cat catch catesby caught cause cave cease celia cell censure ceremony cerimon certain certainly
chain chair challenge chamber chamberlain chance chang'd change charge charity charles charm charmian chase
chaste chastity cheek cheeks cheer chide chief child children chiron choice choler choose christian church cinna
circumstance citizen citizens city civil claim clarence claudio clear cleon cleopatra clerk clifford cloak clock
close closet cloten clothes cloud clouds clown coat cock cold colour colours come comes comfort coming cominius
command commanded commands commend commission commit committed common commons commonwealth companion company
compare compass complexion conceit conceive conclude conclusion condemn'd condition conditions conduct
conference confess confirm confound confusion conjure conquest conrade conscience consent consider constable
constance constant consul contempt content contented contents continue contract contrary convey cool cor
cordelia corin coriolanus corn corrupt corse cost costard could couldst council counsel count countenance
counterfeit countess country country's countrymen courage course court courtesy courtier cousin cover coward
cowards coz crack cranmer crave creature creatures credit creep cressid cressida cried cries cromwell cross crow
crown crown'd crowns cruel cry crying cuckold cunning cup cupid cur cure current curse cursed curses curst
curtis custom cut cymbeline cyprus dagger daily dam dame damn'd damned dance danger dangerous dar'st dare dares
dark darkness daughter daughter's daughters dauphin davy day day's days de dead deadly deal dear dearer dearest
dearly death death's debt decay deceiv'd deceive deceived deed deeds deep deer defence defend defy degree delay
delicate delight deliver deliver'd delivered demand demetrius denied deny depart desdemona desert deserv'd
deserve deserves desire desires despair despatch desperate despite destruction device devil devils devise dew
diana dick did didst die died dies difference dignity dinner diomed diomedes dionyza direct directly discharge
discourse discover discretion disdain disease disgrace dish dishonour dispatch displeasure disposition distance
divide divine do do't doctor does dog dogberry dogs doing dolabella doll don done doom door doors dorset dost
dote doth double doubt douglas dove down dozen draw drawn draws dread dreadful dream dreams drew drink drinking
drinks drive dromio drop drops drown drown'd drum drums drunk dry ducats duchess due duke duke's dull dumaine
dumb duncan durst dust duty dwell dying e'en e'er each ear earl early earnest ears earth earthly ease easily
east easy eat edg edgar edge edm edmund edward edward's effect effects egypt eight either elbow elder eldest
elinor elizabeth else ely em embrace emilia emperor employ'd empress empty encounter end ended ends endure
enemies enemy enforce england england's english enjoy enobarbus enough enter enterprise entertain entertainment
entreat envious envy ephesus equal ere eros error escalus estate esteem et eternal evans even event ever
evermore every everything evil evils example exceeding excellent except exchange excuse execution exeter exeunt
exit expect express extremity eye eyes fabian fac'd face faces fail fain faint fair fairer fairest fairies
fairly fairy faith faithful fal falconbridge fall fallen falling falls false falsehood falstaff fame familiar
famous fancy far fare fares farewell farther fashion fast fat fatal fate father father's fathers fault faults
favour favours fear fear'd fearful fearing fears feast fed fee feeble feed feel feeling feet fell fellow fellows
felt fenton ferdinand fetch few fie field fields fiend fierce fiery fifth fifty fight figure fill fill'd find
finds fine finger fingers fire firm first fish fisherman fit fits five fix'd flame flatter flavius fled flesh
flies flight flood florizel flourish flow flower flowers fluellen fly foe foes follow follow'd followers
following follows folly fond food fool foolish fools foot for for't forbear forbid forc'd force forces ford fore
foreign forest forfeit forget forgive forgot form former forms forsake forsooth forswear forsworn forth fortune
fortune's fortunes forty forward fought foul found four fourth fox frame france francis frederick free freedom
freely french fresh friar friend friendly friends friendship fright from froth frown fruit full further fury
gain gainst gait gall gallant gaoler gar garden gardiner garments garter gate gates gaunt gave gaze general gent
gentle gentleman gentlemen gentlewoman gently george get ghost giddy gift gifts girl give given gives giving
glad glass glorious glory gloster glou gloucester glove go gobbo god god's goddess gods goes going gold golden
gon gone goneril gonzalo good goodly goodness goose got goths govern government governor gower gown grace graces
gracious grandam grant granted gratiano grave graves great greater greatest greatness grecian greek greeks green
greet gremio grew grey grief griefs grieve grievous groan groans groom gross ground grow growing grown grows
grumio guard guarded guess guest guide guil guildenstern guilt guilty ha habit had hadst hail hair hairs hal
half hall ham hamlet hand handkerchief hands hang hang'd hanged hanging hangs hap haply happily happiness happy
hard hardly hark harm harry harsh has hast haste hastings hat hate hated hateful hath have having hazard he
he'll he's head heads health hear heard hearing hears heart heart's hearted heartily hearts heat heaven heaven's
heavenly heavens heavy hector heed heels height heir held helen helena helicanus hell help hence henceforth
henry henry's her herald hercules here here's hereafter hereford herein hermia hermione hero hers herself hey
hid hide hie high higher highness hill him himself hippolyta his hit hither ho hold holds hole hollow holofernes
holy home honest honesty honey honor honour honour'd honour's honourable honours hope hopes hor horatio horn
horns horse horses hortensio host hostess hot hour hours house houses how hubert hue huge hugh human humble
humbly humour humours humphrey hundred hungry hunt hurt husband husband's husbands i i'd i'll iachimo iago idle
if ignorance ignorant ii iii ill image imagination immortal imogen impossible in in't increase indeed infinite
injury ink innocent instance instant instrument instruments intelligence intend intent interest into invention
invisible inward iras ireland iron is is't isabel isabella island isle issue it it's italy item itself iv jack
jaquenetta jaques je jealous jealousy jessica jest jew jewel jewels joan john join join'd joint journey jove joy
joyful joys judge judgement judgment julia juliet jupiter just justice justly kate katharine katherina katherine
keen keep keeper keeping keeps kent kept key kill kill'd killed killing kills kin kind kindly kindness kindred
king king's kingdom kingdoms kingly kings kinsman kiss kiss'd kisses kissing knave knaves knee kneel kneels
knees knew knife knight knights knit knock knocking knot know know'st knowing knowledge known knows la labour
lack lad ladies lady lady's ladyship laer laertes lafeu laid lamb lancaster land lands language large lartius
last late lately laugh laughter launce launcelot lavinia law lawful laws lay lays le lead leads league lean leap
lear learn learn'd learned learning least leave leaves leaving led left leg legs leisure lend length lennox lent
leonato leontes lepidus less lesser lest let let's letter letters level lewis liberal liberty lie liege lies
liest lieutenant life light lights like likely likes likewise liking limbs line lines lion lip lips list little
liv'd live lived livery lives living ll lo loath lodovico london long longaville longer look look'd looked
looking looks loose lord lord's lords lordship lorenzo lose loss lost loud louis lov'd love love's loved lovell
lovely lover lovers loves loving low lower loyal lucentio lucetta luciana lucilius lucio lucius lucrece lust
lusty lying lysander lysimachus macbeth macduff mad madam made madness maecenas maid maiden maids main maintain
majesty make makes making malcolm malice malvolio man man's manner manners many mar march marcius marcus
margaret maria mariana marina mark mark'd market marks marriage married marry mars marshal marvel mass master
master's masters match matter matters may mayor mayst me mean meaning means meant meantime measure meat meet
meeting melancholy melt memory men men's menas mend menelaus menenius merchant mercutio mercy mere merely merit
merry message messala messenger messengers met metal methinks methought mettle midnight might mightst mighty
milan mild mile milk mind minds mine minister minute miranda mirth mischief miserable misery mistake mistress
mock modest modesty moment money monsieur monster monstrous montague montano month months monument moon moor
more morn morning morrow mortal mortimer most moth mother mother's motion mount mountain mourn mouth mouths
mov'd move moved moves mowbray mrs much murder murderer muse music musician musicians must my myself nails naked
name names naples nathaniel nation native natural nature nature's natures naught nay ne'er near necessity neck
need needful needs neighbour neither nephew nerissa nestor never new newly news next nice niece night night's
nights nimble nine no nobility noble nobleman nobles nobly noise none nor norfolk north northumberland nose not
note nothing notice nought now number numbers nurse nym o o'clock o'er oak oath oaths obedience obedient oberon
obey object observe occasion ocean octavia octavius odd odds of off offence offences offend offended offer
office officer officers offices oft often old oliver olivia on on't once one ones only ope open oph ophelia
opinion opposite or oracle order orlando orleans osw othello other other's others otherwise our ours ourselves
out outlaw outward over owe own oxford pace pack padua page paid pain pains painted painter pair palace pale
palm pandarus pandulph paper pardon paris park parley parolles part parted particular parting partly parts party
pass pass'd passage passing passion past pate patience patient patroclus paulina pause pay pays peace pearl
pedant pedro peers peevish pembroke pen people perceive perchance percy perdita perfect perfection perforce
perform perform'd perhaps pericles peril perish perjur'd perpetual person persons persuade peter petruchio petty
phebe philip phrase physic physician picture piece pieces pierce pinch pisanio pistol pitch pitiful pity place
places plague plain plantagenet play play'd players plays plead pleas'd pleasant please pleasure pleasures plot
pluck pluck'd pocket poet poins point points pointz poison pol policy polixenes polonius pomp pompey poor porter
portia possess possess'd possession possible post posthumus pound pour power powers pr'ythee practice praise
praises pray prayer prayers precious preparation prepare presence present presently preserve press pretty
prevent prey priam price prick pride priest prince prince's princely princes princess prison prisoner prisoners
prithee private privilege prize proceed proceeding proclaim profess profit prologue promis'd promise promised
pronounce proof proper prospero prosperous protector protest proteus proud prove provide provided provost public
publius pucelle puck purchase pure purpose purposes purse pursue put puts putting pyramus quality quarrel queen
queen's quench question quick quickly quiet quince quit quite quoth rage rail rain rais'd raise ran rank ransom
rare rascal rash ratcliff rate rather re reach read reading reads ready realm reason reasons rebellion rebels
receiv'd receive received recompense recover red redress refuse reg regan regard reign reignier remain remains
remedy remember remembrance remorse remove render renowned repair repent report repose reputation request rescue
resolution resolv'd resolve respect rest retire retreat return return'd revenge reverence reverend revolt reward
rich richard richmond rid ride right ring ripe rise rises rivers roar rob robert robin rock roderigo rogue roman
romans rome romeo room root ros rosalind rosaline rose roses ross rotten rough round rouse royal rude rugby ruin
rule run running runs s sack sacred sad safe safety said sail saint sake salanio salarino salisbury salt same
sandys sat satisfaction satisfied satisfy saturninus saucy savage save saw say say'st saying says scape scarce
scene sceptre school scope score scorn scotland scroop scurvy sea seal seal'd search seas season seat sebastian
second secret secure see seeing seek seem seem'd seeming seems seen sees seest seize seldom self sell senate
senator senators send sends senior sense senseless senses sent sentence serv'd servant servants serve serves
service services serving set sets seven several shade shadow shadows shake shakespeare shall shallow shalt shame
shape shapes share sharp she she'll she's shed sheep shepherd shield shift shine shines ship ships shook shoot
shore short shortly shot should shoulder shoulders shouldst show show'd shown shows shrewd shut shylock sicinius
sick sickness side sides siege sigh sighs sight sign signior signs silence silent silver silvia silvius
simonides simple sin since sing singing single sings sink sins sir sirrah sirs sister sisters sit sits sitting
six sixth skill skin sky slain slander slaughter slave slaves slay sleep sleeping sleeps slender slept slew
slight slow sly small smell smile smiles smiling smooth snow so society soft sold soldier soldiers sole solemn
some somerset something sometime sometimes son song sons soon sooner sooth soothsayer sore sorrow sorrows sorry
sort sought soul souls sound sounded sounds sour south sovereign sovereignty space spake spare speak speak'st
speaking speaks special speech speed spend spent spirit spirits spit spite spleen spoil spoke spoken sport
spread spring spur spy staff stage stain stain'd stand standing stands stanley star stars start state stay
stay'd stays steal steel step stephano steps stern steward stick still sting stir stock stol'n stolen stomach
stone stones stood stoop stop stopp'd store storm story straight strain strange strangely stranger stream street
streets strength strife strike strikes strive stroke strong stronger strongly struck stubborn study stuff
subject subjects substance subtle success such sudden suddenly sue suffer suffolk suit suits sum summer summer's
sun supper supply suppose sure surely surrey suspect suspicion sway swear swears sweat sweet sweetest sweetly
swift sword swords swore sworn syracuse t ta'en table tailor take taken takes taking talbot tale talk talking
tall tame tamora tarquin tarry task taste taught teach tear tears tedious teeth tell telling tells temper
tempest temple tempt ten tend tender tent terms terrible terror th thaisa than thank thanks that that's the thee
their theirs them theme themselves then thence there there's thereby therefore therein thereof thersites these
theseus they they'll thick thief thieves thine thing things think think'st thinking thinks third thirty this
thisbe thither thomas those thou thou'rt though thought thoughts thousand three threw thrice thrive throat
throats throne through throw thrown throws thrust thunder thurio thus thy thyself tide tidings tied till time
time's times timon timon's tis titania titinius title titus to to't toby together toil token told tomb tongue
tongues too took tooth top torch torment torture touch touch'd touches touching touchstone toward towards tower
town towns trade train traitor traitors tranio travel tread treason treasure tree trees tremble trial tribunes
trick tricks trinculo triumph troilus troop troops troth trouble troubled troy true truly trumpet trumpets trust
truth try tune turn turn'd turned turning turns tut twain twas twelve twenty twere twice twill twixt two tybalt
tyranny tyrant tyre ugly ulysses uncle under understand undertake undo undone unfold unhappy unknown unless
unnatural until untimely unto unworthy up upon urge ursula us us'd use used utter v vain valentine valiant
valour value vantage veins vengeance venice venture verges vernon verona verse very vessel vi vice victory view
vile villain villains villainy vincentio viola violent virgilia virgin virginity virtue virtues virtuous visage
visit voice voices volumnia vouchsafe vous vow vows wait wake waking wales walk walks wall walls want wanton
wants war warlike warm warrant wars warwick was wash wast waste watch water waters wax way ways we we'll weak
weakness wealth weapon weapons wear wears weary weather wed wedding weeds week weep weeping weeps weigh weight
welcome well wench went wept were wert west westmoreland what what's when whence where where's wherefore wherein
whereof whereon whether which while whiles whilst whip whisper white whither who who's whole wholesome whom
whore whoreson whose why wicked wide widow wife wife's wild will william williams willing willingly wills wilt
win winchester wind window winds windsor wine wing wings wink winter wisdom wise wisely wish wish'd wishes wit
witch with withal withdraw wither'd within without witness wits wives woe woeful woes wolf wolsey woman woman's
womb women won wonder wondrous wont woo woo'd wood wor worcester word words work working works world world's
worm worn worse worship worst worth worthy wot would wouldst wound wounded wounds wrath wretch wretched writ
write written wrong wrong'd wrongs wrought ye yea year years yellow yes yet yield yoke yond yonder york you
you'll you're young younger your yours yourself yourselves youth youthful zeal
    """.split()
)


@pytest.fixture(scope="module")
def shakespeare():
    return load_gpt_folder(FOLDER)


def real_word_share(text: str) -> tuple[float, int]:
    words = WORD.findall(text.lower())
    return (sum(w in CORPUS_WORDS for w in words) / len(words) if words else 0.0), len(words)


@pytest.mark.parametrize("prompt, seed", [("ROMEO.\n", 0), ("KING HENRY.\nMy lords, ", 1), ("To be, or not to be", 2)])
def test_writes_mostly_real_words(shakespeare, prompt, seed):
    tok = shakespeare.tokenizer
    cfg = SamplingConfig(max_new_tokens=150, temperature=0.8, top_k=40, seed=seed, ignore_eos=True)
    text = tok.decode(generate_ids(shakespeare.model, tok, tok.encode(prompt), cfg))
    share, count = real_word_share(text)
    assert count >= 50, text
    assert share >= 0.6, f"only {share:.0%} real words:\n{text}"


def test_random_tokens_would_fail_the_word_check(shakespeare):
    """The check above means something: uniformly random tokens score well below it."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1, shakespeare.config.vocab_size, (300,), generator=gen).tolist()
    share, _ = real_word_share(shakespeare.tokenizer.decode(ids))
    assert share < 0.6


def test_folder_is_a_small_hub_gpt2_with_a_card(shakespeare):
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["model_type"] == "gpt2"
    assert (FOLDER / "model.safetensors").stat().st_size < 10 * 10**6  # the Hub's limit for files outside LFS
    card = " ".join((FOLDER / "README.md").read_text().split())
    assert "Held-out loss" in card and "public domain" in card
    assert shakespeare.tokenizer.eos_id is not None


@pytest.fixture(scope="module")
def figures():
    """`python -m ganstudio text-quality --json --check` on the bundled model, run once (~30 s on one core: the
    tests that use it are marked slow)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["text-quality", "--json", "--check"])
    return code, json.loads(out.getvalue()), err.getvalue()


@pytest.mark.slow
def test_heldout_loss_meets_the_goal(figures):
    _, result, _ = figures
    assert result["heldout_chars"] == sum(map(len, load_heldout()))
    assert result["nats_per_char"] <= GOAL_NATS_PER_CHAR


@pytest.mark.slow
def test_greedy_text_does_not_loop(figures):
    _, result, _ = figures
    assert result["repeated_4grams"] <= GOAL_REPEATED, "\n---\n".join(result["continuations"])
    assert all(len(text) > 400 for text in result["continuations"])  # 200 tokens each, none cut short


@pytest.mark.slow
def test_text_quality_check_passes(figures):
    code, _, err = figures
    assert code == 0, err


@pytest.mark.slow
def test_card_states_the_figures_the_command_measures(figures):
    _, result, _ = figures
    card = (FOLDER / "README.md").read_text()
    nats = float(re.search(r"Held-out loss: ([0-9.]+) nats per character", card).group(1))
    repeated = float(re.search(r"Repeated word 4-grams in greedy text: ([0-9.]+)%", card).group(1))
    assert nats == pytest.approx(result["nats_per_char"], abs=2e-4)
    assert repeated == pytest.approx(100 * result["repeated_4grams"], abs=0.1)


def test_shipped_heldout_text_is_the_tail_of_every_work():
    texts = load_heldout()
    assert len(texts) == 42
    assert HELDOUT_FILE.stat().st_size < 400_000
    assert texts[0].startswith("You saw one here in court could witness it.")  # All's Well, act V
    assert texts[-1].rstrip().endswith("[Exeunt.]")  # The Winter's Tale


def test_transformers_reads_it_the_same(shakespeare):
    transformers = pytest.importorskip("transformers")
    hf = transformers.GPT2LMHeadModel.from_pretrained(FOLDER, dtype=torch.float32).eval()  # stored as float16
    ids = torch.tensor([shakespeare.tokenizer.encode("ROMEO.\nBut soft, what light")])
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, shakespeare.model(ids).logits, atol=1e-4)
