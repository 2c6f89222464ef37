// Independent RDF parsers (N3.js, jsonld.js) and SHACL engine (rdf-validate-shacl) for the tests.
//   node crosscheck.mjs parse FILE (turtle|trig|ntriples|nquads|jsonld)  -> N-Quads on stdout
//   node crosscheck.mjs shacl DATA.nq SHAPES.ttl                         -> JSON report on stdout
import fs from 'node:fs'
import zlib from 'node:zlib'
import N3 from 'n3'
import jsonld from 'jsonld'
import SHACLValidator from 'rdf-validate-shacl'

const MEDIA = { turtle: 'text/turtle', trig: 'application/trig', ntriples: 'application/n-triples', nquads: 'application/n-quads' }

function read (file) {
  const bytes = fs.readFileSync(file)
  return (file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString('utf8')
}

async function quads (file, syntax) {
  if (syntax === 'jsonld') {
    // Refuse every remote document: a dump must be readable offline.
    const documentLoader = async (url) => { throw new Error(`refusing to fetch ${url}`) }
    const nquads = await jsonld.toRDF(JSON.parse(read(file)), { format: 'application/n-quads', documentLoader })
    return new N3.Parser({ format: 'application/n-quads' }).parse(nquads)
  }
  return new N3.Parser({ format: MEDIA[syntax] }).parse(read(file))
}

const [command, ...args] = process.argv.slice(2)
if (command === 'parse') {
  const writer = new N3.Writer({ format: 'application/n-quads' })
  writer.addQuads(await quads(args[0], args[1]))
  writer.end((error, text) => { if (error) throw error; process.stdout.write(text) })
} else if (command === 'shacl') {
  const { Store } = N3
  const data = new Store(await quads(args[0], 'nquads'))
  const shapes = new Store(await quads(args[1], 'turtle'))
  // rdf-validate-shacl implements core SHACL only and throws on SHACL-SPARQL constraints:
  // leave them out here (the test compares core results only).
  shapes.removeQuads(shapes.getQuads(null, N3.DataFactory.namedNode('http://www.w3.org/ns/shacl#sparql'), null, null))
  const validator = new SHACLValidator(shapes)
  const report = await validator.validate(data)
  const results = report.results.map(r => ({
    focus: r.focusNode?.value ?? '',
    path: r.path?.value ?? '',
    severity: r.severity?.value ?? '',
    shape: r.sourceShape?.termType === 'NamedNode' ? r.sourceShape.value : ''
  }))
  process.stdout.write(JSON.stringify({ conforms: report.conforms, results }) + '\n')
} else {
  console.error('usage: crosscheck.mjs parse FILE SYNTAX | shacl DATA.nq SHAPES.ttl')
  process.exit(2)
}
