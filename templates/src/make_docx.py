#!/usr/bin/env python3
"""Builds the built-in Word templates templates/resume.docx and templates/cover_letter.docx.

The WordprocessingML is written by hand here (no Word, no python-docx), so every part of the
package is visible and reviewable. Run from anywhere:

    python3 templates/src/make_docx.py            # writes templates/*.docx
    python3 templates/src/make_docx.py --out DIR  # writes DIR/*.docx
    python3 templates/src/make_docx.py --letter   # US Letter pages instead of A4

Only the Python 3 standard library is used. The output is deterministic (fixed zip dates), so
a rebuild without changes gives identical files.

Template conventions (read by the .docx engine, include/trackdoc/docx.h):
  * a paragraph holding only section tags ({{#x}}, {{/x}}) repeats or hides the paragraphs
    between it and its partner: experience entries, highlight bullets, whole sections;
  * section tags inside a paragraph, on runs at the same level, repeat or hide the runs between
    them: the separators and the three links of the header;
  * hyperlinks use relationships whose Target is a tag ({{linkedin_url}}, TargetMode="External"),
    so that rendering for a job turns them into tracked links.
Every variable comes from the canonical model (docs/template-variables.md).
"""

import argparse
import os
import sys
import zipfile
from xml.sax.saxutils import escape, quoteattr

# --------------------------------------------------------------------------- design tokens

FONT = "Carlito"  # metric-compatible with Calibri; Word without Carlito substitutes Calibri
INK = "1C2430"
MUTED = "5A6473"
ACCENT = "1D5B85"
RULE = "D3DAE3"
TAG = "8A94A3"  # colour of the section-marker paragraphs, seen only when editing the template

PAGES = {
    # name: (width, height) in twentieths of a point
    "A4": (11906, 16838),
    "Letter": (12240, 15840),
}
MARGIN_X = 1077  # 19 mm
MARGIN_Y = 964  # 17 mm

NS_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

# The relationship ids of the three tracked links, shared by both documents.
LINKS = {
    "linkedin": "rIdLinkedIn",
    "portfolio": "rIdPortfolio",
    "calendly": "rIdCalendly",
}

# ------------------------------------------------------------------------------ WordML bits


def t(text):
    """A w:t element; spaces kept when they lead or trail."""
    space = ' xml:space="preserve"' if text else ""  # values may start or end with a space
    return f"<w:t{space}>{escape(text)}</w:t>"


def rpr(style=None, bold=False, italic=False, color=None, size=None):
    """Run properties, children in schema order (rStyle, b, i, color, sz)."""
    out = []
    if style:
        out.append(f'<w:rStyle w:val="{style}"/>')
    if bold:
        out.append("<w:b/><w:bCs/>")
    if italic:
        out.append("<w:i/><w:iCs/>")
    if color:
        out.append(f'<w:color w:val="{color}"/>')
    if size:
        out.append(f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>')
    return f"<w:rPr>{''.join(out)}</w:rPr>" if out else ""


def r(text, **props):
    """A run of text (tags stay whole inside one run)."""
    return f"<w:r>{rpr(**props)}{t(text)}</w:r>"


def tab():
    """A run holding a tab (to the right tab stop of the paragraph style)."""
    return "<w:r><w:tab/></w:r>"


def link(kind, text):
    """A hyperlink to one of the three tracked URLs, text in the Hyperlink character style."""
    return (f'<w:hyperlink r:id="{LINKS[kind]}" w:history="1">'
            f'{r(text, style="Hyperlink")}</w:hyperlink>')


def field(instr, shown):
    """A simple field (PAGE, NUMPAGES) with its cached result."""
    return (f'<w:fldSimple w:instr=" {instr} "><w:r><w:rPr><w:noProof/></w:rPr>'
            f"{t(shown)}</w:r></w:fldSimple>")


def p(style, *runs):
    """A paragraph of the given style holding the runs."""
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}{''.join(runs)}</w:p>"


def tags(*names):
    """A paragraph holding only section tags: the .docx engine removes it and repeats or hides
    the paragraphs up to its partner."""
    return p("TemplateTag", r("".join(names)))


def section(name, *paras):
    """Paragraphs shown once per item (lists) or only when name is truthy."""
    return [tags("{{#" + name + "}}"), *paras, tags("{{/" + name + "}}")]


def flat(items):
    """Flattens nested lists of paragraphs."""
    out = []
    for x in items:
        if isinstance(x, (list, tuple)):
            out.extend(flat(x))
        else:
            out.append(x)
    return out


# ---------------------------------------------------------------------------------- styles


def styles(text_width, letter_body=False):
    """word/styles.xml: a clean sans design in one font, with heading styles."""
    body = 22 if letter_body else 21  # half-points: 11 pt for letters, 10.5 pt for résumés
    line = 276 if letter_body else 259

    def pstyle(sid, name, ppr="", rpr_="", based="Normal", nxt="Normal", extra=""):
        based_on = f'<w:basedOn w:val="{based}"/>' if based else ""
        return (f'<w:style w:type="paragraph" w:customStyle="{1 if extra == "custom" else 0}" '
                f'w:styleId="{sid}"><w:name w:val="{name}"/>{based_on}'
                f'<w:next w:val="{nxt}"/><w:qFormat/>'
                f"{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}"
                f"{f'<w:rPr>{rpr_}</w:rPr>' if rpr_ else ''}</w:style>")

    font = (f'<w:rFonts w:ascii="{FONT}" w:eastAsia="{FONT}" w:hAnsi="{FONT}" '
            f'w:cs="{FONT}"/>')
    out = [
        XML_HEAD,
        f'<w:styles xmlns:w="{NS_W}">',
        "<w:docDefaults><w:rPrDefault><w:rPr>",
        font,
        f'<w:color w:val="{INK}"/><w:sz w:val="{body}"/><w:szCs w:val="{body}"/>',
        '<w:lang w:val="en-GB" w:eastAsia="en-GB" w:bidi="ar-SA"/>',
        "</w:rPr></w:rPrDefault>",
        "<w:pPrDefault><w:pPr>",
        f'<w:spacing w:after="0" w:line="{line}" w:lineRule="auto"/>',
        "</w:pPr></w:pPrDefault></w:docDefaults>",
        # Normal and the paragraph styles
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
        "<w:qFormat/><w:pPr><w:widowControl/>"
        f'<w:spacing w:after="{160 if letter_body else 60}"/></w:pPr></w:style>',
        pstyle("Title", "Title",
               ppr='<w:keepNext/><w:spacing w:after="20" w:line="240" w:lineRule="auto"/>'
               '<w:outlineLvl w:val="0"/>',
               rpr_=f'<w:b/><w:bCs/><w:color w:val="{INK}"/><w:spacing w:val="-6"/>'
               f'<w:kern w:val="28"/><w:sz w:val="{44 if letter_body else 52}"/>'
               f'<w:szCs w:val="{44 if letter_body else 52}"/>'),
        pstyle("Subtitle", "Subtitle",
               ppr='<w:keepNext/><w:spacing w:after="80"/>',
               rpr_=f'<w:color w:val="{ACCENT}"/><w:sz w:val="26"/><w:szCs w:val="26"/>'),
        pstyle("Contact", "Contact",
               ppr='<w:spacing w:after="20"/>',
               rpr_=f'<w:color w:val="{MUTED}"/><w:sz w:val="19"/><w:szCs w:val="19"/>',
               extra="custom"),
        pstyle("HeaderRule", "Header Rule",
               ppr=f'<w:pBdr><w:bottom w:val="single" w:sz="4" w:space="1" '
               f'w:color="{RULE}"/></w:pBdr><w:spacing w:after="280" w:line="120" '
               f'w:lineRule="exact"/>',
               rpr_='<w:sz w:val="8"/><w:szCs w:val="8"/>', extra="custom"),
        pstyle("Heading1", "heading 1",
               ppr=f'<w:keepNext/><w:keepLines/><w:pBdr><w:bottom w:val="single" w:sz="4" '
               f'w:space="2" w:color="{RULE}"/></w:pBdr><w:spacing w:before="260" '
               f'w:after="100"/><w:outlineLvl w:val="0"/>',
               rpr_=f'<w:b/><w:bCs/><w:caps/><w:color w:val="{ACCENT}"/>'
               f'<w:spacing w:val="30"/><w:sz w:val="19"/><w:szCs w:val="19"/>'),
        pstyle("Heading2", "heading 2",
               ppr=f'<w:keepNext/><w:keepLines/><w:tabs><w:tab w:val="right" '
               f'w:pos="{text_width}"/></w:tabs><w:spacing w:before="150" w:after="0"/>'
               f'<w:outlineLvl w:val="1"/>',
               rpr_='<w:b/><w:bCs/><w:sz w:val="22"/><w:szCs w:val="22"/>'),
        pstyle("EntryMeta", "Entry Meta",
               ppr='<w:keepNext/><w:spacing w:after="50"/>',
               rpr_=f'<w:i/><w:iCs/><w:color w:val="{MUTED}"/><w:sz w:val="20"/>'
               f'<w:szCs w:val="20"/>', extra="custom"),
        pstyle("ListBullet", "List Bullet",
               ppr='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
               '<w:spacing w:after="30"/><w:ind w:left="357" w:hanging="215"/>'
               '<w:contextualSpacing/>'),
        pstyle("Compact", "Compact",
               ppr='<w:spacing w:after="40"/><w:ind w:left="215" w:hanging="215"/>',
               extra="custom"),
        pstyle("Small", "Small",
               ppr='<w:spacing w:after="40"/>',
               rpr_=f'<w:color w:val="{MUTED}"/><w:sz w:val="19"/><w:szCs w:val="19"/>',
               extra="custom"),
        pstyle("Date", "Date", ppr='<w:spacing w:after="240"/>',
               rpr_=f'<w:color w:val="{MUTED}"/>'),
        pstyle("Address", "Address", ppr='<w:spacing w:after="0"/>', extra="custom"),
        pstyle("Subject", "Subject", ppr='<w:keepNext/><w:spacing w:before="240" w:after="200"/>',
               rpr_="<w:b/><w:bCs/>", extra="custom"),
        pstyle("Signature", "Signature", ppr='<w:keepNext/><w:spacing w:before="440" '
               'w:after="20"/>', rpr_="<w:b/><w:bCs/>"),
        pstyle("Footer", "footer",
               ppr='<w:jc w:val="center"/>',
               rpr_=f'<w:color w:val="{MUTED}"/><w:sz w:val="16"/><w:szCs w:val="16"/>'),
        pstyle("TemplateTag", "Template Tag",
               ppr='<w:keepNext/><w:spacing w:after="0" w:line="200" w:lineRule="auto"/>',
               rpr_=f'<w:color w:val="{TAG}"/><w:sz w:val="14"/><w:szCs w:val="14"/>',
               extra="custom"),
        # character styles
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/>'
        "<w:unhideWhenUsed/></w:style>",
        '<w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/>'
        '<w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
        f'<w:rPr><w:color w:val="{ACCENT}"/></w:rPr></w:style>',
        '<w:style w:type="character" w:customStyle="1" w:styleId="Muted">'
        '<w:name w:val="Muted"/><w:basedOn w:val="DefaultParagraphFont"/><w:qFormat/>'
        f'<w:rPr><w:b w:val="0"/><w:bCs w:val="0"/><w:color w:val="{MUTED}"/>'
        '<w:sz w:val="19"/><w:szCs w:val="19"/></w:rPr></w:style>',
        '<w:style w:type="character" w:customStyle="1" w:styleId="Strong">'
        '<w:name w:val="Strong"/><w:basedOn w:val="DefaultParagraphFont"/><w:qFormat/>'
        "<w:rPr><w:b/><w:bCs/></w:rPr></w:style>",
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal">'
        '<w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/>'
        '<w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
        '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
        '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr></w:style>",
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList">'
        '<w:name w:val="No List"/><w:uiPriority w:val="99"/><w:semiHidden/>'
        "<w:unhideWhenUsed/></w:style>",
        "</w:styles>",
    ]
    return "".join(out)


def numbering():
    """word/numbering.xml: one bullet list (accent-coloured round bullets, two levels)."""
    levels = []
    for lvl, (char, left) in enumerate([("\u2022", 357), ("\u2013", 714)]):
        levels.append(
            f'<w:lvl w:ilvl="{lvl}"><w:start w:val="1"/><w:numFmt w:val="bullet"/>'
            f'<w:lvlText w:val="{char}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:ind w:left="{left}" w:hanging="215"/></w:pPr>'
            f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:cs="{FONT}" w:hint="default"/>'
            f'<w:color w:val="{ACCENT}"/></w:rPr></w:lvl>')
    return (f'{XML_HEAD}<w:numbering xmlns:w="{NS_W}">'
            '<w:abstractNum w:abstractNumId="0"><w:nsid w:val="5A1B2C3D"/>'
            '<w:multiLevelType w:val="hybridMultilevel"/><w:tmpl w:val="0409000F"/>'
            f'{"".join(levels)}</w:abstractNum>'
            '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>')


def settings():
    """word/settings.xml, children in schema order."""
    return (f'{XML_HEAD}<w:settings xmlns:w="{NS_W}">'
            '<w:zoom w:percent="100"/>'
            '<w:proofState w:spelling="clean" w:grammar="clean"/>'
            '<w:defaultTabStop w:val="720"/>'
            '<w:characterSpacingControl w:val="doNotCompress"/>'
            '<w:compat><w:compatSetting w:name="compatibilityMode" '
            'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'
            '<w:themeFontLang w:val="en-GB"/>'
            "</w:settings>")


def font_table():
    """word/fontTable.xml: Carlito, with Calibri's PANOSE and name as its alternative, so Word
    without Carlito substitutes the metric-compatible Calibri."""
    return (f'{XML_HEAD}<w:fonts xmlns:w="{NS_W}">'
            f'<w:font w:name="{FONT}"><w:altName w:val="Calibri"/>'
            '<w:panose1 w:val="020F0502020204030204"/><w:charset w:val="00"/>'
            '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
            "</w:fonts>")


def footer(label):
    """word/footer1.xml: the candidate's name, the document and the page number."""
    return (f'{XML_HEAD}<w:ftr xmlns:w="{NS_W}" xmlns:r="{NS_R}">'
            + p("Footer", r("{{personal.full_name}}"), r(f"  \u00b7  {label}  \u00b7  "),
                field("PAGE", "1"), r(" / "), field("NUMPAGES", "1"))
            + "</w:ftr>")


def document(body_paras, page):
    """word/document.xml around the body paragraphs, with the page set-up."""
    w, h = PAGES[page]
    sect = (f'<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter1"/>'
            f'<w:pgSz w:w="{w}" w:h="{h}"/>'
            f'<w:pgMar w:top="{MARGIN_Y}" w:right="{MARGIN_X}" w:bottom="{MARGIN_Y}" '
            f'w:left="{MARGIN_X}" w:header="567" w:footer="454" w:gutter="0"/>'
            '<w:cols w:space="708"/><w:docGrid w:linePitch="360"/></w:sectPr>')
    return (f'{XML_HEAD}<w:document xmlns:w="{NS_W}" xmlns:r="{NS_R}"><w:body>'
            + "".join(flat(body_paras)) + sect + "</w:body></w:document>")


def document_rels(links):
    """word/_rels/document.xml.rels: the parts, and the links as tag targets."""
    rels = [
        ("rIdStyles", "styles", "styles.xml", None),
        ("rIdNumbering", "numbering", "numbering.xml", None),
        ("rIdSettings", "settings", "settings.xml", None),
        ("rIdFontTable", "fontTable", "fontTable.xml", None),
        ("rIdFooter1", "footer", "footer1.xml", None),
    ]
    for kind in links:
        rels.append((LINKS[kind], "hyperlink", "{{" + kind + "_url}}", "External"))
    out = [XML_HEAD, f'<Relationships xmlns="{NS_PKG_REL}">']
    for rid, typ, target, mode in rels:
        m = f' TargetMode="{mode}"' if mode else ""
        out.append(f'<Relationship Id="{rid}" Type="{REL}{typ}" Target={quoteattr(target)}{m}/>')
    out.append("</Relationships>")
    return "".join(out)


CONTENT_TYPES = (
    XML_HEAD
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>'
    '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>")

PACKAGE_RELS = (
    XML_HEAD + f'<Relationships xmlns="{NS_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>")


def core(title):
    """docProps/core.xml. Title and author are set per document by the renderer
    (td_docx_opts.title and .creator); the template carries neutral values."""
    return (XML_HEAD
            + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator></dc:creator>"
            "<cp:lastModifiedBy></cp:lastModifiedBy><cp:revision>1</cp:revision>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">2026-01-01T00:00:00Z</dcterms:created>'
            '<dcterms:modified xsi:type="dcterms:W3CDTF">2026-01-01T00:00:00Z</dcterms:modified>'
            "</cp:coreProperties>")


APP = (XML_HEAD
       + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
       'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
       "<Template>Normal.dotm</Template><TotalTime>0</TotalTime><Pages>1</Pages>"
       "<Application>trackdoc</Application><DocSecurity>0</DocSecurity>"
       "<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>"
       "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
       "<AppVersion>16.0000</AppVersion></Properties>")

# ----------------------------------------------------------------------------------- bodies

SEP = "  \u00b7  "


def header_block(calendly_in_header=True):
    """Name, headline, contact line and the links line (hyperlinks to the tracked URLs)."""
    links = [
        r("{{#linkedin_url}}"), link("linkedin", "{{linkedin_text}}"),
        r("{{/linkedin_url}}{{#portfolio_sep}}" + SEP + "{{/portfolio_sep}}{{#portfolio_url}}"),
        link("portfolio", "{{portfolio_text}}"), r("{{/portfolio_url}}"),
    ]
    if calendly_in_header:
        links += [r("{{#calendly_sep}}" + SEP + "{{/calendly_sep}}{{#calendly_url}}"),
                  link("calendly", "Book a call: {{calendly_text}}"), r("{{/calendly_url}}")]
    return [
        p("Title", r("{{personal.full_name}}")),
        section("personal.headline", p("Subtitle", r("{{personal.headline}}"))),
        section("has_contact", p("Contact", r("{{#contact}}{{text}}{{^last}}" + SEP
                                              + "{{/last}}{{/contact}}"))),
        section("has_links", p("Contact", *links)),
    ]


def entry_title(title, when):
    """An entry's first line: title in bold, its dates on the right tab stop."""
    return p("Heading2", r(title), tab(), r(when, style="Muted"))


def bullets(name="highlights"):
    """One bullet paragraph per string of the list name."""
    return section(name, p("ListBullet", r("{{.}}")))


def resume_body():
    """The résumé: every section hidden when empty, entries repeated by paragraph sections."""
    return [
        header_block(),
        section("has_summary",
                p("Heading1", r("Profile")),
                section("summary_paragraphs", p("Normal", r("{{.}}")))),
        section("has_experience",
                p("Heading1", r("Experience")),
                section("experience",
                        entry_title("{{title}}", "{{date_range}}"),
                        p("EntryMeta", r("{{company}}{{#location}}" + SEP
                                         + "{{location}}{{/location}}")),
                        section("has_summary", p("Normal", r("{{summary}}"))),
                        bullets())),
        section("has_projects",
                p("Heading1", r("Projects")),
                section("projects",
                        entry_title("{{name}}", "{{date_range}}"),
                        section("url", p("EntryMeta", r("{{url_text}}"))),
                        section("description", p("Normal", r("{{description}}"))),
                        bullets(),
                        section("has_keywords", p("Small", r("{{keywords_text}}"))))),
        section("has_education",
                p("Heading1", r("Education")),
                section("education",
                        entry_title("{{degree_line}}{{^degree_line}}{{institution}}"
                                    "{{/degree_line}}", "{{date_range}}"),
                        section("degree_line",
                                p("EntryMeta", r("{{institution}}{{#location}}" + SEP
                                                 + "{{location}}{{/location}}{{#score}}" + SEP
                                                 + "{{score}}{{/score}}"))),
                        section("has_courses", p("Small", r("Courses: {{courses_text}}"))))),
        section("has_skills",
                p("Heading1", r("Skills")),
                section("skills.groups",
                        p("Compact", r("{{name}}", bold=True),
                          r("{{#level}} ({{level}}){{/level}}", color=MUTED),
                          r(":  {{keywords_text}}")))),
        section("has_certificates",
                p("Heading1", r("Certifications")),
                section("certificates",
                        p("Compact", r("{{name}}", bold=True),
                          r("{{#issuer}}, {{issuer}}{{/issuer}}"),
                          r("{{#date_text}}" + SEP + "{{date_text}}{{/date_text}}",
                            color=MUTED)))),
        section("has_awards",
                p("Heading1", r("Awards")),
                section("awards",
                        p("Compact", r("{{title}}", bold=True),
                          r("{{#awarder}}, {{awarder}}{{/awarder}}"),
                          r("{{#date_text}}" + SEP + "{{date_text}}{{/date_text}}",
                            color=MUTED)),
                        section("summary", p("Small", r("{{summary}}"))))),
        section("has_volunteer",
                p("Heading1", r("Volunteering")),
                section("volunteer",
                        entry_title("{{position}}", "{{date_range}}"),
                        p("EntryMeta", r("{{organization}}")),
                        section("summary", p("Normal", r("{{summary}}"))),
                        bullets())),
        section("has_languages",
                p("Heading1", r("Languages")),
                p("Normal", r("{{#languages}}{{language}}"),
                  r("{{#fluency}} ({{fluency}}){{/fluency}}", color=MUTED),
                  r("{{^last}}" + SEP + "{{/last}}{{/languages}}"))),
        section("has_interests",
                p("Heading1", r("Interests")),
                p("Normal", r("{{interests_text}}"))),
    ]


def letter_body():
    """The cover letter: letterhead, date, recipient, subject, text, sign-off, call to action."""
    return [
        header_block(calendly_in_header=False),
        p("HeaderRule"),
        section("has_date", p("Date", r("{{date}}"))),
        section("has_recipient",
                section("recipient.lines", p("Address", r("{{.}}")))),
        section("subject", p("Subject", r("{{subject}}"))),
        p("Normal", r("{{salutation}}")),
        section("paragraphs", p("Normal", r("{{.}}"))),
        p("Normal", r("{{sign_off}}")),
        p("Signature", r("{{personal.full_name}}")),
        section("calendly_url",
                p("Small", r("Book a call with me: "), link("calendly", "{{calendly_text}}"))),
    ]


# ----------------------------------------------------------------------------------- output


def write_docx(path, body, title, label, links, page, letter_body_text):
    """Writes one .docx package: [Content_Types].xml first, fixed dates, deflated."""
    w, _ = PAGES[page]
    parts = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", PACKAGE_RELS),
        ("docProps/core.xml", core(title)),
        ("docProps/app.xml", APP),
        ("word/document.xml", document(body, page)),
        ("word/_rels/document.xml.rels", document_rels(links)),
        ("word/styles.xml", styles(w - 2 * MARGIN_X, letter_body_text)),
        ("word/numbering.xml", numbering()),
        ("word/settings.xml", settings()),
        ("word/fontTable.xml", font_table()),
        ("word/footer1.xml", footer(label)),
    ]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data.encode("utf-8"))
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.dirname(here), help="folder for the .docx files")
    ap.add_argument("--letter", action="store_true", help="US Letter pages instead of A4")
    a = ap.parse_args()
    page = "Letter" if a.letter else "A4"
    os.makedirs(a.out, exist_ok=True)
    write_docx(os.path.join(a.out, "resume.docx"), resume_body(), "Résumé", "Résumé",
               ["linkedin", "portfolio", "calendly"], page, False)
    write_docx(os.path.join(a.out, "cover_letter.docx"), letter_body(), "Cover letter",
               "Cover letter", ["linkedin", "portfolio", "calendly"], page, True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
