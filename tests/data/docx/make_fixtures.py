#!/usr/bin/env python3
"""Writes the .docx fixtures of tests/unit/doc/test_docx*.c from WordprocessingML written by
hand (Python 3 standard library only). The generated files are committed, so the tests do not
need Python; run this again after changing it:

    python3 tests/data/docx/make_fixtures.py

Every file is deterministic (fixed zip timestamps). Tags are cut across runs the way Word cuts
them: proofing marks, bookmarks, rsid attributes and rendered page breaks between the pieces.
"""
import os
import struct
import sys
import warnings
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = (2024, 1, 1, 0, 0, 0)

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
HYPERLINK = REL + "hyperlink"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
ROOT_NS = (
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:r="%s" xmlns:w="%s" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'mc:Ignorable="w14"' % (R_NS, W_NS)
)


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def t(text):
    """A w:t element, keeping spaces."""
    return '<w:t xml:space="preserve">%s</w:t>' % esc(text)


# Word writes fonts, sizes, languages and editing-session ids on nearly every run; the résumé
# is written with that noise (NOISE = True) so that its size and timing are realistic.
NOISE = False
NOISE_RPR = ('<w:rFonts w:ascii="DejaVu Sans" w:hAnsi="DejaVu Sans" w:cs="DejaVu Sans"/>'
             '<w:lang w:val="en-US" w:eastAsia="en-US"/>')


def run(text, rpr="", rsid="00C4A1F2"):
    if NOISE:
        return ('<w:r w:rsidR="%s" w:rsidRPr="00E81F3B"><w:rPr>%s%s</w:rPr>%s</w:r>'
                % (rsid, NOISE_RPR, rpr, t(text)))
    return '<w:r w:rsidR="%s">%s%s</w:r>' % (rsid, "<w:rPr>%s</w:rPr>" % rpr if rpr else "", t(text))


BOLD = "<w:b/><w:bCs/>"
ITALIC = "<w:i/><w:iCs/>"
PROOF_START = '<w:proofErr w:type="spellStart"/>'
PROOF_END = '<w:proofErr w:type="spellEnd"/>'


def para(*content, ppr="", pid=None, rsid="00C4A1F2"):
    attrs = ' w:rsidR="%s" w:rsidRDefault="%s"' % (rsid, rsid)
    if pid:
        attrs = ' w14:paraId="%s" w14:textId="77777777"' % pid + attrs
    return "<w:p%s>%s%s</w:p>" % (attrs, "<w:pPr>%s</w:pPr>" % ppr if ppr else "", "".join(content))


def ptext(text, ppr="", rpr="", pid=None):
    return para(run(text, rpr), ppr=ppr, pid=pid)


def style(name):
    return '<w:pStyle w:val="%s"/>' % name


def bullet():
    return '<w:pStyle w:val="ListParagraph"/><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'


def hyperlink(rid, *runs_):
    return '<w:hyperlink r:id="%s" w:history="1">%s</w:hyperlink>' % (rid, "".join(runs_))


def link_run(text):
    return run(text, '<w:rStyle w:val="Hyperlink"/>')


def field(instr_pieces, shown):
    """A complex field: begin, instruction text cut into runs, separate, result, end."""
    out = ['<w:r><w:fldChar w:fldCharType="begin"/></w:r>']
    for piece in instr_pieces:
        out.append('<w:r><w:instrText xml:space="preserve">%s</w:instrText></w:r>' % esc(piece))
    out.append('<w:r><w:fldChar w:fldCharType="separate"/></w:r>')
    out.append(link_run(shown))
    out.append('<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    return "".join(out)


def table(rows, widths, borders=True):
    grid = "".join('<w:gridCol w:w="%d"/>' % w for w in widths)
    b = ""
    if borders:
        b = "<w:tblBorders>%s</w:tblBorders>" % "".join(
            '<w:%s w:val="single" w:sz="4" w:space="0" w:color="999999"/>' % e
            for e in ("top", "left", "bottom", "right", "insideH", "insideV"))
    body = ""
    for cells in rows:
        body += "<w:tr>"
        for w, cell in zip(widths, cells):
            body += '<w:tc><w:tcPr><w:tcW w:w="%d" w:type="dxa"/></w:tcPr>%s</w:tc>' % (w, cell)
        body += "</w:tr>"
    return ('<w:tbl><w:tblPr><w:tblW w:w="%d" w:type="dxa"/>%s</w:tblPr><w:tblGrid>%s</w:tblGrid>%s</w:tbl>'
            % (sum(widths), b, grid, body))


def sect(headers=(), footers=()):
    refs = "".join('<w:headerReference w:type="default" r:id="%s"/>' % h for h in headers)
    refs += "".join('<w:footerReference w:type="default" r:id="%s"/>' % f for f in footers)
    return ('<w:sectPr>%s<w:pgSz w:w="12240" w:h="15840"/><w:pgMar w:top="1080" w:right="1080" '
            'w:bottom="1080" w:left="1080" w:header="600" w:footer="600" w:gutter="0"/></w:sectPr>' % refs)


def document(body, sectpr=None):
    return DECL + '<w:document %s><w:body>%s%s</w:body></w:document>' % (ROOT_NS, body, sectpr or sect())


def header(content, kind="hdr"):
    return DECL + '<w:%s %s>%s</w:%s>' % (kind, ROOT_NS, content, kind)


STYLES = DECL + (
    '<w:styles xmlns:w="%s">'
    '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="DejaVu Sans" w:hAnsi="DejaVu Sans" '
    'w:cs="DejaVu Sans"/><w:sz w:val="20"/><w:szCs w:val="20"/><w:lang w:val="en-US"/></w:rPr>'
    '</w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="60" w:line="252" w:lineRule="auto"/>'
    '</w:pPr></w:pPrDefault></w:docDefaults>'
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/>'
    '<w:pPr><w:spacing w:after="40"/></w:pPr><w:rPr><w:b/><w:color w:val="1F3864"/><w:sz w:val="44"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>'
    '<w:pPr><w:keepNext/><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="1F3864"/></w:pBdr>'
    '<w:spacing w:before="200" w:after="80"/><w:outlineLvl w:val="0"/></w:pPr>'
    '<w:rPr><w:b/><w:caps/><w:color w:val="1F3864"/><w:sz w:val="24"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/>'
    '<w:pPr><w:keepNext/><w:spacing w:before="100" w:after="0"/><w:outlineLvl w:val="1"/></w:pPr>'
    '<w:rPr><w:b/><w:sz w:val="22"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/>'
    '<w:basedOn w:val="Normal"/><w:pPr><w:spacing w:after="20"/><w:ind w:left="720"/></w:pPr></w:style>'
    '<w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/>'
    '<w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style>'
    '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
    '<w:tblPr><w:tblCellMar><w:left w:w="108" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
    '</w:tblCellMar></w:tblPr></w:style>'
    '</w:styles>' % W_NS)

NUMBERING = DECL + (
    '<w:numbering xmlns:w="%s"><w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="hybridMultilevel"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/>'
    '<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl>'
    '</w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>' % W_NS)

SETTINGS = DECL + ('<w:settings xmlns:w="%s"><w:zoom w:percent="100"/><w:defaultTabStop w:val="720"/>'
                   '<w:characterSpacingControl w:val="doNotCompress"/><w:compat><w:compatSetting '
                   'w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" '
                   'w:val="15"/></w:compat></w:settings>' % W_NS)

APP = DECL + ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
              '<Application>trackdoc fixtures</Application></Properties>')


def core(title="Template", modified=True):
    return DECL + (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        + ("<dc:title>%s</dc:title>" % title if title else "")
        + "<dc:creator>Template Author</dc:creator>"
        + '<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:created>'
        + ('<dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:modified>' if modified else "")
        + "</cp:coreProperties>")


def rels_xml(rels):
    out = DECL + '<Relationships xmlns="%s">' % PR_NS
    for rid, typ, target, external in rels:
        out += '<Relationship Id="%s" Type="%s" Target="%s"%s/>' % (
            rid, typ if typ.startswith("http") else REL + typ, esc(target),
            ' TargetMode="External"' if external else "")
    return out + "</Relationships>"


CT = {
    "document": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "styles": "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml",
    "settings": "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml",
    "numbering": "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml",
    "header": "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
    "footer": "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml",
    "footnotes": "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
    "core": "application/vnd.openxmlformats-package.core-properties+xml",
    "app": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
}


def content_types(overrides, defaults=()):
    out = DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    out += '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    out += '<Default Extension="xml" ContentType="application/xml"/>'
    out += '<Default Extension="png" ContentType="image/png"/>'
    for ext, ct in defaults:
        out += '<Default Extension="%s" ContentType="%s"/>' % (ext, ct)
    for part, ct in overrides:
        out += '<Override PartName="/%s" ContentType="%s"/>' % (part, ct)
    return out + "</Types>"


def write_zip(name, entries, compress=zipfile.ZIP_DEFLATED):
    path = os.path.join(HERE, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(path, "w") as z:
            for ename, data in entries:
                info = zipfile.ZipInfo(ename, STAMP)
                info.compress_type = compress
                info.external_attr = 0o644 << 16
                z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def package(name, body, doc_rels=(), headers=None, footers=None, footnotes=None, core_xml=None,
            extra=(), ct_overrides=(), ct_defaults=(), sectpr=None, settings_rels=None, raw_document=None,
            styles=None):
    """A complete package: styles, numbering, settings, properties, headers and footers."""
    headers = headers or {}
    footers = footers or {}
    rels = [("rIdStyles", "styles", "styles.xml", False),
            ("rIdNumbering", "numbering", "numbering.xml", False),
            ("rIdSettings", "settings", "settings.xml", False)]
    overrides = [("word/document.xml", CT["document"]), ("word/styles.xml", CT["styles"]),
                 ("word/numbering.xml", CT["numbering"]), ("word/settings.xml", CT["settings"]),
                 ("docProps/core.xml", CT["core"]), ("docProps/app.xml", CT["app"])]
    parts = []
    hrefs, frefs = [], []
    for i, (fname, (xml, prels)) in enumerate(sorted(headers.items())):
        rels.append(("rIdH%d" % (i + 1), "header", fname, False))
        hrefs.append("rIdH%d" % (i + 1))
        overrides.append(("word/" + fname, CT["header"]))
        parts.append(("word/" + fname, xml))
        if prels:
            parts.append(("word/_rels/%s.rels" % fname, rels_xml(prels)))
    for i, (fname, (xml, prels)) in enumerate(sorted(footers.items())):
        rels.append(("rIdF%d" % (i + 1), "footer", fname, False))
        frefs.append("rIdF%d" % (i + 1))
        overrides.append(("word/" + fname, CT["footer"]))
        parts.append(("word/" + fname, xml))
        if prels:
            parts.append(("word/_rels/%s.rels" % fname, rels_xml(prels)))
    if footnotes:
        rels.append(("rIdFootnotes", "footnotes", "footnotes.xml", False))
        overrides.append(("word/footnotes.xml", CT["footnotes"]))
        parts.append(("word/footnotes.xml", footnotes))
    rels.extend(doc_rels)
    overrides.extend(ct_overrides)
    doc = raw_document or document(body, sectpr or sect(hrefs, frefs))
    entries = [
        ("[Content_Types].xml", content_types(overrides, ct_defaults)),
        ("_rels/.rels", rels_xml([
            ("rId1", "officeDocument", "word/document.xml", False),
            ("rId2", "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
             "docProps/core.xml", False),
            ("rId3", "extended-properties", "docProps/app.xml", False)])),
        ("docProps/app.xml", APP),
        ("docProps/core.xml", core_xml if core_xml is not None else core()),
        ("word/document.xml", doc),
        ("word/_rels/document.xml.rels", rels_xml(rels)),
        ("word/styles.xml", styles or STYLES),
        ("word/numbering.xml", NUMBERING),
        ("word/settings.xml", SETTINGS),
    ]
    if settings_rels:
        entries.append(("word/_rels/settings.xml.rels", rels_xml(settings_rels)))
    entries.extend(parts)
    entries.extend(extra)
    return write_zip(name, entries)


def png(width, height, seed):
    """A PNG of noise (incompressible, like a photo), deterministic."""
    import random
    import zlib
    rnd = random.Random(seed)
    raw = b"".join(b"\0" + bytes(rnd.getrandbits(8) for _ in range(width * 3)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def picture(rid, doc_id, cx, cy, name="picture"):
    """A run holding an inline picture."""
    return (
        '<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="%d" cy="%d"/>'
        '<wp:docPr id="%d" name="%s %d"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr>'
        '<pic:cNvPr id="0" name="%s.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="%s"/>'
        '<a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
        '<a:ext cx="%d" cy="%d"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
        '</a:graphicData></a:graphic></wp:inline></w:drawing></w:r>'
        % (cx, cy, doc_id, name, doc_id, name, rid, cx, cy))


THEME = DECL + (
    '<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Office Theme">'
    '<a:themeElements><a:clrScheme name="Office">'
    + "".join('<a:%s><a:srgbClr val="%s"/></a:%s>' % (n, v, n) for n, v in (
        ("dk1", "000000"), ("lt1", "FFFFFF"), ("dk2", "44546A"), ("lt2", "E7E6E6"), ("accent1", "4472C4"),
        ("accent2", "ED7D31"), ("accent3", "A5A5A5"), ("accent4", "FFC000"), ("accent5", "5B9BD5"),
        ("accent6", "70AD47"), ("hlink", "0563C1"), ("folHlink", "954F72")))
    + '</a:clrScheme><a:fontScheme name="Office">'
    + "".join('<a:%s><a:latin typeface="%s"/><a:ea typeface=""/><a:cs typeface=""/>%s</a:%s>' % (
        k, f, "".join('<a:font script="%s" typeface="%s"/>' % (sc, tf) for sc, tf in (
            ("Jpan", "Yu Gothic"), ("Hang", "Malgun Gothic"), ("Hans", "DengXian"), ("Hant", "PMingLiU"),
            ("Arab", "Times New Roman"), ("Hebr", "Times New Roman"), ("Thai", "Angsana New"),
            ("Ethi", "Nyala"), ("Beng", "Vrinda"), ("Gujr", "Shruti"), ("Khmr", "MoolBoran"),
            ("Knda", "Tunga"), ("Guru", "Raavi"), ("Cans", "Euphemia"), ("Cher", "Plantagenet Cherokee"))), k)
        for k, f in (("majorFont", "Calibri Light"), ("minorFont", "Calibri")))
    + '</a:fontScheme><a:fmtScheme name="Office"><a:fillStyleLst>'
    + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + '</a:fillStyleLst><a:lnStyleLst>'
    + '<a:ln w="6350" cap="flat" cmpd="sng" algn="ctr"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill>'
      '<a:prstDash val="solid"/><a:miter lim="800000"/></a:ln>' * 3
    + '</a:lnStyleLst><a:effectStyleLst>' + '<a:effectStyle><a:effectLst/></a:effectStyle>' * 3
    + '</a:effectStyleLst><a:bgFillStyleLst>' + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + '</a:bgFillStyleLst></a:fmtScheme></a:themeElements><a:objectDefaults/><a:extraClrSchemeLst/></a:theme>')

FONT_TABLE = DECL + ('<w:fonts xmlns:w="%s">' % W_NS + "".join(
    '<w:font w:name="%s"><w:panose1 w:val="020F0502020204030204"/><w:charset w:val="00"/>'
    '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>' % f
    for f in ("DejaVu Sans", "Calibri", "Calibri Light", "Times New Roman", "Symbol")) + '</w:fonts>')

LATENT = '<w:latentStyles w:defLockedState="0" w:defUIPriority="99" w:defSemiHidden="0" w:defUnhideWhenUsed="0" w:defQFormat="0" w:count="376">' + "".join(
    '<w:lsdException w:name="%s" w:semiHidden="1" w:uiPriority="%d" w:unhideWhenUsed="1"/>' % (n, i)
    for i, n in enumerate(["heading %d" % k for k in range(1, 10)] + ["toc %d" % k for k in range(1, 10)]
                          + ["Table Grid %d" % k for k in range(1, 200)] + ["List %d" % k for k in range(1, 150)])) + '</w:latentStyles>'


# ---------------------------------------------------------------------------------------------
# Rendering fixtures


def split_runs():
    """Tags cut across runs with proofing marks, bookmarks, rsids, page-break marks, no-break
    spaces; a raw tag; a tag alone; text that only looks like braces."""
    p1 = para(
        run("Dear "),
        PROOF_START,
        run("{{fir", BOLD, rsid="00A1B2C3"),
        '<w:bookmarkStart w:id="0" w:name="_GoBack"/>',
        run("st_na", ITALIC, rsid="00D4E5F6"),
        '<w:bookmarkEnd w:id="0"/>',
        '<w:r><w:lastRenderedPageBreak/></w:r>',
        run("me}}", rsid="00112233"),
        PROOF_END,
        run(", welcome."),
        pid="1A2B3C01")
    p2 = para(run("Family: "), run("{"), run("{\u00a0last", BOLD), run("_name\u00a0}"), run("}"), run("!"),
              pid="1A2B3C02")
    p3 = para(run("Raw: {{{raw}}} and {{& raw}}; escaped: {{raw}}"), pid="1A2B3C03")
    p4 = para(run("Braces alone: { } } { and a tag at the end {{first_name"), run("}}"), pid="1A2B3C04")
    p5 = ptext("Untouched paragraph.")
    return package("split_runs.docx", p1 + p2 + p3 + p4 + p5)


def links():
    """Hyperlinks whose target is a tag (plain, percent-encoded any case, with Word's http://
    prefix), plain URLs for the link hook, an internal anchor, HYPERLINK field codes cut across
    runs, a simple field, and a hyperlink per section item."""
    body = (
        '<w:bookmarkStart w:id="1" w:name="top"/><w:bookmarkEnd w:id="1"/>'
        + para(run("Profile: "), hyperlink("rIdLinkedIn", link_run("LinkedIn")))
        + para(run("Portfolio: "), hyperlink("rIdPortfolio", link_run("{{portfolio_url}}")))
        + para(run("Calendar: "), hyperlink("rIdCalendly", link_run("Book a call")))
        + para(run("Company: "), hyperlink("rIdPlain", link_run("example.com/about")))
        + para(run("Mail: "), hyperlink("rIdMail", link_run("jane@example.com")))
        + para(run("Back to "), '<w:hyperlink w:anchor="top" w:history="1">%s</w:hyperlink>' % link_run("the top"))
        + para(run("Code: "), field([" HYPER", 'LINK "{{git', 'hub_url}}" \\o "', 'GitHub" '], "GitHub"))
        + para(run("Blog: "), field([' HYPERLINK "https://blog.example.com/jane" '], "blog"))
        + para(run("Anchor field: "), field([' HYPERLINK \\l "top" '], "top"))
        + para(run("Simple: "),
               '<w:fldSimple w:instr=" HYPERLINK &quot;{{linkedin_url}}&quot; ">%s</w:fldSimple>'
               % link_run("LinkedIn again"))
        + para(run("Simple plain: "),
               '<w:fldSimple w:instr=" HYPERLINK &quot;https://example.com/simple&quot; ">%s</w:fldSimple>'
               % link_run("simple"))
        + ptext("{{#profiles}}")
        + para(run("- "), hyperlink("rIdProfile", link_run("{{name}}")))
        + ptext("{{/profiles}}")
    )
    rels = [
        ("rIdLinkedIn", "hyperlink", "{{linkedin_url}}", True),
        ("rIdPortfolio", "hyperlink", "%7B%7Bportfolio_url%7D%7D", True),
        ("rIdCalendly", "hyperlink", "http://%7b%7b%20calendly_url%20%7d%7d/", True),
        ("rIdPlain", "hyperlink", "https://example.com/about?a=1&b=2", True),
        ("rIdMail", "hyperlink", "mailto:jane@example.com", True),
        ("rIdProfile", "hyperlink", "{{url}}", True),
        ("rIdUnused", "hyperlink", "{{linkedin_url}}", True),
    ]
    return package("links.docx", body, doc_rels=rels)


def headers_footers():
    """Tags in a header (cut across runs) and a footer (with a PAGE field), a header hyperlink
    whose target is a tag, and an unchanged second footer."""
    hdr = header(
        para(run("{{full", BOLD), run("_name}}", BOLD), run(" \u2014 "), run("{{headline}}"))
        + para(hyperlink("rIdH1Link", link_run("LinkedIn"))))
    ftr = header(
        para(run("Page "), '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
             '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
             '<w:r><w:fldChar w:fldCharType="separate"/></w:r>', run("1"),
             '<w:r><w:fldChar w:fldCharType="end"/></w:r>', run(" \u2014 {{email}}")), "ftr")
    ftr2 = header(ptext("Static footer, never rendered."), "ftr")
    body = ptext("Body of {{full_name}}.") + ptext("Second page follows.")
    return package("headers.docx", body,
                   headers={"header1.xml": (hdr, [("rIdH1Link", "hyperlink", "%7B%7Blinkedin_url%7D%7D", True)])},
                   footers={"footer1.xml": (ftr, None), "footer2.xml": (ftr2, None)})


def tables():
    """A table whose row repeats (section from the first cell to the last), an inverted row, a
    two-row section, a one-cell layout table with paragraph sections inside."""
    jobs = table([
        [ptext("Company", rpr=BOLD), ptext("Years", rpr=BOLD), ptext("Role", rpr=BOLD)],
        [ptext("{{#jobs}}{{company}}"), ptext("{{years}}"), para(run("{{role}}"), run("{{/jobs}}"))],
        [ptext("{{^jobs}}No jobs yet"), ptext(""), ptext("{{/jobs}}")],
    ], [3000, 2000, 3000])
    pairs = table([
        [ptext("{{#schools}}"), ptext("{{name}}")],
        [ptext("{{degree}}"), ptext("{{/schools}}")],
    ], [4000, 4000])
    layout = table([[
        ptext("Skills", ppr=style("Heading2")) + ptext("{{#skills}}") + ptext("{{.}}", ppr=bullet())
        + ptext("{{/skills}}"),
        ptext("Languages", ppr=style("Heading2")) + ptext("{{#languages}}") + ptext("{{.}}")
        + ptext("{{/languages}}"),
    ]], [4000, 4000], borders=False)
    body = ptext("Jobs") + jobs + ptext("Schools") + pairs + ptext("Layout") + layout + ptext("End.")
    return package("table.docx", body)


def nested():
    """Experience entries (paragraph sections) with bullet highlights nested inside, and an
    empty list."""
    body = (
        ptext("Experience", ppr=style("Heading1"))
        + ptext("{{#experience}}")
        + para(run("{{title}}", BOLD), run(" at "), run("{{company}}", ITALIC), ppr=style("Heading2"), pid="2B000001")
        + para(picture("rIdLogo", 7, 182880, 182880, "logo"), run(" {{dates}}", ITALIC), pid="2B000002")
        + ptext("{{ #highlights }}")
        + ptext("{{.}}", ppr=bullet(), pid="2B000003")
        + ptext("{{/highlights}}")
        + ptext("{{/experience}}")
        + ptext("End of experience.")
    )
    return package("nested.docx", body, doc_rels=[("rIdLogo", "image", "media/logo.png", False)],
                   extra=[("word/media/logo.png", png(8, 8, 7))])


def inline():
    """Sections inside one paragraph, a false section that leaves its paragraph empty (removed),
    an inverted section, newlines and tabs in values, a section across runs of different
    formatting, a comment tag."""
    body = (
        para(run("Contact: {{#email}}mail "), run("{{email}}", BOLD), run("{{/email}}{{^email}}no email{{/email}}."))
        + ptext("{{#phone}}Phone: {{phone}}{{/phone}}")
        + ptext("Kept: {{#phone}}{{phone}}{{/phone}}")
        + ptext("Address:")
        + ptext("{{address}}")
        + para(run("Skills: "), run("{{#skills}}"), run("{{name}}", BOLD), run("{{^last}}, {{/last}}"), run("{{/skills}}"), run("."))
        + ptext("{{! a note for template authors }}")
        + para(run("{{#multi}}First part "), run("continues")) + ptext("middle") + para(run("last{{/multi}} tail"))
        + ptext("After.")
    )
    return package("inline.docx", body)


def footnotes_xml():
    return DECL + (
        '<w:footnotes %s>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
        '<w:footnote w:id="1"><w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
        '<w:footnoteRef/></w:r>%s</w:p></w:footnote></w:footnotes>' % (ROOT_NS, run(" References on request, {{first_name}}.")))


def resume():
    """A realistic résumé: a photo, header with the name, footer with page numbers and a tracked
    link, summary, experience entries with bullets, an education table, skills inline, a
    footnote; Word's usual noise on runs, a theme, a font table and Word's latent styles."""
    global NOISE
    NOISE = True
    try:
        return resume_package()
    finally:
        NOISE = False


def resume_package():
    contact = para(
        run("{{email}}"), run("  |  "), run("{{phone}}"), run("  |  "),
        hyperlink("rIdLinkedIn", link_run("LinkedIn")), run("  |  "),
        hyperlink("rIdPortfolio", link_run("Portfolio")), run("  |  "),
        hyperlink("rIdCalendly", link_run("Book a call")),
        ppr='<w:jc w:val="center"/>')
    body = (
        para(picture("rIdPhoto", 1, 548640, 548640, "photo"), ppr='<w:jc w:val="center"/><w:spacing w:after="0"/>')
        + para(run("{{full_"), PROOF_START, run("name}}"), PROOF_END, ppr=style("Title") + '<w:jc w:val="center"/>')
        + para(run("{{headline}}", ITALIC), ppr='<w:jc w:val="center"/>')
        + contact
        + ptext("Summary", ppr=style("Heading1"))
        + para(run("{{summary}}"), '<w:r><w:footnoteReference w:id="1"/></w:r>')
        + ptext("Experience", ppr=style("Heading1"))
        + ptext("{{#experience}}")
        + para(run("{{title}}", BOLD), run(" \u2014 "), run("{{company}}"), run("\t"), run("{{dates}}", ITALIC),
               ppr=style("Heading2") + '<w:tabs><w:tab w:val="right" w:pos="10080"/></w:tabs>')
        + ptext("{{#highlights}}")
        + ptext("{{.}}", ppr=bullet())
        + ptext("{{/highlights}}")
        + ptext("{{/experience}}")
        + ptext("Education", ppr=style("Heading1"))
        + table([
            [ptext("Degree", rpr=BOLD), ptext("School", rpr=BOLD), ptext("Year", rpr=BOLD)],
            [ptext("{{#education}}{{degree}}"), ptext("{{school}}"), ptext("{{year}}{{/education}}")],
        ], [4200, 4200, 1680])
        + ptext("Skills", ppr=style("Heading1"))
        + para(run("{{#skills}}{{.}}, {{/skills}}"))
        + para(run("Generated for {{company_applied}}.", ITALIC))
    )
    hdr = header(para(run("{{full_name}}", BOLD), run(" \u2014 {{headline}}"), ppr='<w:jc w:val="right"/>'))
    ftr = header(para(run("{{full_name}} \u2014 page "), '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
                      '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
                      '<w:r><w:fldChar w:fldCharType="separate"/></w:r>', run("1"),
                      '<w:r><w:fldChar w:fldCharType="end"/></w:r>', run(" \u2014 "),
                      hyperlink("rIdFtrLink", link_run("LinkedIn")), ppr='<w:jc w:val="center"/>'), "ftr")
    rels = [
        ("rIdLinkedIn", "hyperlink", "%7B%7Blinkedin_url%7D%7D", True),
        ("rIdPortfolio", "hyperlink", "{{portfolio_url}}", True),
        ("rIdCalendly", "hyperlink", "{{calendly_url}}", True),
        ("rIdPhoto", "image", "media/photo.png", False),
        ("rIdTheme", "theme", "theme/theme1.xml", False),
        ("rIdFonts", "fontTable", "fontTable.xml", False),
    ]
    styles = STYLES.replace("</w:docDefaults>", "</w:docDefaults>" + LATENT)
    return package("resume.docx", body, doc_rels=rels, footnotes=footnotes_xml(), styles=styles,
                   extra=[("word/media/photo.png", png(120, 120, 1)), ("word/theme/theme1.xml", THEME),
                          ("word/fontTable.xml", FONT_TABLE)],
                   ct_overrides=[("word/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml"),
                                 ("word/fontTable.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml")],
                   headers={"header1.xml": (hdr, None)},
                   footers={"footer1.xml": (ftr, [("rIdFtrLink", "hyperlink", "{{linkedin_url}}", True)])},
                   core_xml=core(title=None, modified=False))


def errors():
    """Templates with mistakes, one per file."""
    package("err_unclosed_section.docx",
            ptext("{{#experience}}") + ptext("Acme {{company}}") + ptext("End"))
    package("err_unclosed_tag.docx", para(run("Hello {{first"), run("_name")))
    package("err_mismatch.docx", ptext("{{#a}}") + ptext("x") + ptext("{{/b}}"))
    package("err_levels.docx",
            ptext("{{#jobs}}") + table([[ptext("{{company}}{{/jobs}}")]], [4000]))
    package("err_partial.docx", ptext("{{> header}}"))


# ---------------------------------------------------------------------------------------------
# Conversion fixture


def convert_doc():
    """A finished résumé to turn into a template: the name cut across runs, repeated text, a
    hyperlink whose visible text and address are the profile, a header."""
    body = (
        para(run("Ja", BOLD), run("ne ", BOLD), PROOF_START, run("Doe", BOLD), PROOF_END, ppr=style("Title"))
        + para(run("jane.doe@example.com  |  +1 555 0100"))
        + para(hyperlink("rIdLi", link_run("linkedin.com/in/janedoe")))
        + ptext("Senior engineer at Acme Corp since 2019. Acme Corp makes anvils.")
        + ptext("CONFIDENTIAL draft")
        + ptext("Jane Doe, Jane Doe.")
    )
    hdr = header(ptext("Jane Doe \u2014 r\u00e9sum\u00e9"))
    # The mapping the end-to-end test gives `trackdoc template convert` (found: 4, 1, 2, 1, 0).
    with open(os.path.join(HERE, "convert_map.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("Original_Text,Is_Variable,Is_Static,Is_discarded,Variable_name,Variable intention,Static_Text\r\n"
                "Jane Doe,TRUE,FALSE,FALSE,personal.full_name,The candidate's full name,\r\n"
                "jane.doe@example.com,TRUE,FALSE,FALSE,personal.email,Contact e-mail,\r\n"
                "Acme Corp,FALSE,TRUE,FALSE,,,\"Globex, Inc.\"\r\n"
                "CONFIDENTIAL draft,FALSE,FALSE,TRUE,,,\r\n"
                "Not in the document,TRUE,FALSE,FALSE,personal.phone,Phone number,\r\n")
    return package("convert.docx", body, doc_rels=[("rIdLi", "hyperlink", "https://www.linkedin.com/in/janedoe/", True)],
                   headers={"header1.xml": (hdr, None)})


# ---------------------------------------------------------------------------------------------
# Unsafe or broken packages


def minimal_entries(doc=None):
    doc = doc or document(ptext("Hello {{name}}"))
    return [
        ("[Content_Types].xml", content_types([("word/document.xml", CT["document"])])),
        ("_rels/.rels", rels_xml([("rId1", "officeDocument", "word/document.xml", False)])),
        ("word/document.xml", doc),
    ]


def patch_sizes(path, name, claimed):
    """Makes entry name claim `claimed` uncompressed bytes in its local header and central
    directory record (a zip bomb that lies about its size)."""
    data = bytearray(open(path, "rb").read())
    bname = name.encode()
    i = 0
    while True:
        i = data.find(b"PK\x03\x04", i)
        if i < 0:
            break
        nlen = struct.unpack_from("<H", data, i + 26)[0]
        if bytes(data[i + 30:i + 30 + nlen]) == bname:
            struct.pack_into("<I", data, i + 22, claimed)
        i += 4
    i = 0
    while True:
        i = data.find(b"PK\x01\x02", i)
        if i < 0:
            break
        nlen = struct.unpack_from("<H", data, i + 28)[0]
        if bytes(data[i + 46:i + 46 + nlen]) == bname:
            struct.pack_into("<I", data, i + 24, claimed)
        i += 4
    open(path, "wb").write(bytes(data))


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(' <!ENTITY lol%d "%s">\n' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10) for i in range(1, 10))
    + ']>\n<w:document xmlns:w="%s"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>' % W_NS)


def unsafe():
    open(os.path.join(HERE, "bad_not_zip.docx"), "wb").write(b"This is not a zip file, just text.\n")
    write_zip("bad_missing_document.docx", minimal_entries()[:2])
    write_zip("bad_ratio.docx", minimal_entries() + [("word/media/pad.bin", b"\0" * (3 << 20))])
    p = write_zip("bad_lie.docx", minimal_entries() + [("word/media/image1.png", b"\0" * 200000)])
    patch_sizes(p, "word/media/image1.png", 1000)
    p = write_zip("bad_lie_xml.docx", minimal_entries() + [("word/theme/theme1.xml", "<a>" + " " * 300000 + "</a>")])
    patch_sizes(p, "word/theme/theme1.xml", 100)
    write_zip("bad_many.docx", minimal_entries() + [("word/media/f%04d.png" % i, b"x") for i in range(1000)])
    write_zip("bad_dotdot.docx", minimal_entries() + [("word/../../evil.xml", "<a/>")])
    write_zip("bad_absolute.docx", minimal_entries() + [("/etc/evil.xml", "<a/>")])
    write_zip("bad_backslash.docx", minimal_entries() + [("word\\evil.xml", "<a/>")])
    write_zip("bad_drive.docx", minimal_entries() + [("C:/evil.xml", "<a/>")])
    write_zip("bad_duplicate.docx", minimal_entries() + [("word/document.xml", document(ptext("other")))])
    write_zip("bad_vba.docx", minimal_entries() + [("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro")])
    e = minimal_entries()
    e[0] = ("[Content_Types].xml", content_types([("word/document.xml", CT["document"])],
                                                 [("bin", "application/vnd.ms-office.vbaProject")]))
    write_zip("bad_vba_type.docx", e + [("word/code.bin", b"\xd0\xcf\x11\xe0macro")])
    e = minimal_entries()
    e[0] = ("[Content_Types].xml", content_types(
        [("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")]))
    write_zip("bad_macro_type.docx", e)
    package("bad_attached_template.docx", ptext("Hello"),
            settings_rels=[("rId1", "attachedTemplate", "http://evil.example.com/t.dotm", True)])
    package("bad_attached_template_unc.docx", ptext("Hello"),
            settings_rels=[("rId1", "attachedTemplate", "file://fileserver/templates/t.dotm", True)])
    # Network shares dressed up as local paths are remote templates too.
    for i, target in enumerate(["file:////fileserver/share/t.dotm",
                                "file:///\\\\fileserver\\share\\t.dotm",
                                "file:///%5C%5Cfileserver/share/t.dotm"]):
        package("bad_attached_template_share%d.docx" % (i + 1), ptext("Hello"),
                settings_rels=[("rId1", "attachedTemplate", target, True)])
    # Word records the local template a document was made from: harmless, accepted.
    package("local_attached_template.docx", ptext("Hello {{name}}"),
            settings_rels=[("rId1", "attachedTemplate",
                            "file:///C:/Users/Jane/AppData/Roaming/Microsoft/Templates/Normal.dotm",
                            True)])
    package("bad_external_image.docx", ptext("Hello"),
            doc_rels=[("rIdImg", "image", "http://evil.example.com/track.png", True)])
    write_zip("bad_doctype.docx", minimal_entries(BILLION_LAUGHS))
    e = minimal_entries()
    e[1] = ("_rels/.rels", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<Relationships xmlns="%s"><Relationship Id="rId1" Type="%sofficeDocument" Target="word/document.xml"/>'
            '</Relationships>' % (PR_NS, REL))
    write_zip("bad_entity_rels.docx", e)
    e = minimal_entries()
    e[2] = ("word/document.xml", ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]>'
                                  '<w:document xmlns:w="%s"/>' % W_NS).encode("utf-16"))
    write_zip("bad_utf16_doctype.docx", e)
    write_zip("bad_malformed.docx", minimal_entries(DECL + '<w:document xmlns:w="%s"><w:body><w:p>' % W_NS))
    write_zip("bad_encoding.docx", minimal_entries(
        '<?xml version="1.0" encoding="UTF-16"?><w:document xmlns:w="%s"><w:body/></w:document>' % W_NS))


def seeds():
    """Small inputs for the fuzzer's corpus (fuzz/corpus/docx/)."""
    out = os.path.join(HERE, "..", "..", "..", "fuzz", "corpus", "docx")
    os.makedirs(out, exist_ok=True)
    small = document(
        para(run("Hi {{fir"), run("st}} "), hyperlink("rIdL", link_run("{{url}}")))
        + ptext("{{#jobs}}") + ptext("{{name}}", ppr=bullet()) + ptext("{{/jobs}}")
        + table([[ptext("{{#jobs}}{{name}}"), ptext("{{/jobs}}")]], [2000, 2000])
        + para(field([' HYPERLINK "{{url}}" '], "x"), run("{{#a}}x{{/a}}")))
    entries = minimal_entries(small)
    entries.append(("word/_rels/document.xml.rels", rels_xml([("rIdL", "hyperlink", "%7B%7Burl%7D%7D", True)])))
    write_zip(os.path.join(out, "seed_small.docx"), entries)
    write_zip(os.path.join(out, "seed_minimal.docx"), minimal_entries())
    # Raw document.xml seeds: the fuzzer wraps inputs that start with '<' into a package.
    open(os.path.join(out, "seed_document.xml"), "w").write(small)
    for name in ("split_runs.docx", "links.docx", "table.docx", "inline.docx"):
        with open(os.path.join(HERE, name), "rb") as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())
    open(os.path.join(out, "seed_inline.xml"), "w").write(document(
        para(run("{{#a}}A{{"), run("b}}{{/a}}{{^a}}none{{/a}}")) + ptext("{{#x}}") + ptext("{{/x}}")))


def main():
    split_runs()
    links()
    headers_footers()
    tables()
    nested()
    inline()
    resume()
    errors()
    convert_doc()
    unsafe()
    seeds()
    print("fixtures written to", HERE)


if __name__ == "__main__":
    sys.exit(main())
