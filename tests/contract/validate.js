#!/usr/bin/env node
/* validate.js - every response the API tests collected, checked against
 * openapi.yaml with ajv's JSON Schema 2020-12 validator (make api).
 *
 * usage: node validate.js OPENAPI_JSON RESPONSES_NDJSON
 *
 * Each line of RESPONSES_NDJSON is one response the harness saw
 * (tests/api/harness.c, CONTRACT_LOG): {method, path, status, content_type,
 * request_id, text, yaml}. text is the raw body, yaml the body parsed when the
 * answer was YAML. A response passes when its method and path are an
 * operation of the spec (or, when they are not, it is one of the dispatcher's
 * problem answers), its status and media type are declared, a body is sent
 * exactly when the spec declares content, and the body validates against the
 * declared schema under JSON Schema 2020-12 (formats checked). Exit 1 on any
 * mismatch, on an empty log, or when the self-test finds the validator
 * accepting what it must refuse.
 *
 * The schemas are the spec's own: the whole document is added to ajv under
 * one id and each response schema is compiled by its JSON pointer, so every
 * $ref resolves the way a standard OpenAPI 3.1 tool resolves it.
 */
'use strict';

const fs = require('fs');
const readline = require('readline');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const SPEC_ID = 'openapi.json';
/* Answers the dispatcher gives for a method+path that is no operation. */
const GENERIC_STATUSES = new Set([404, 405, 413, 414, 431]);
/* Answered before any routing, on every path (openapi.yaml info.description). */
const PRE_ROUTING_STATUSES = new Set([414, 431]);

function die(msg) {
    process.stderr.write(`contract: ${msg}\n`);
    process.exit(2);
}

function pointerEscape(s) {
    return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

class Contract {
    constructor(spec) {
        this.spec = spec;
        /* strict: an unknown keyword or an ignored format in a schema is an
         * error of the spec, not silently skipped. The OpenAPI 3.1 base
         * dialect adds these annotation keywords to 2020-12. */
        this.ajv = new Ajv2020({
            strict: true,
            /* valid 2020-12 that ajv's lint flags: a schema that makes an
             * allOf member's properties required (FunnelStage) */
            strictRequired: false,
            allErrors: true,
            validateFormats: true,
        });
        addFormats(this.ajv);
        this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
        /* The document itself is added as one schema so that '#/components/...'
         * resolves inside it; its OpenAPI members are not schema keywords. */
        this.ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components', 'tags', 'security',
            'webhooks', 'jsonSchemaDialect']);
        this.ajv.addSchema(spec, SPEC_ID);
        this.compiled = new Map();
        this.templates = Object.keys(spec.paths || {}).map((t) => ({
            template: t,
            segments: t.split('/').slice(1),
        }));
    }

    /* The best template for a concrete path: every literal segment equal,
     * the most literal segments wins (/v1/deals/batch over /v1/deals/{id}). */
    match(path) {
        const segs = path.split('?')[0].split('/').slice(1);
        let best = null;
        let bestScore = -1;
        for (const t of this.templates) {
            if (t.segments.length !== segs.length)
                continue;
            let score = 0;
            let ok = true;
            for (let i = 0; i < segs.length && ok; i++) {
                if (segs[i] === '') /* only a template's own trailing slash ("/", "/console/") */
                    ok = t.segments[i] === '';
                else if (t.segments[i].startsWith('{'))
                    continue;
                else if (t.segments[i] === segs[i])
                    score++;
                else
                    ok = false;
            }
            if (ok && score > bestScore) {
                best = t.template;
                bestScore = score;
            }
        }
        return best;
    }

    /* A local $ref of the document (responses are OpenAPI objects, not
     * schemas): returns [object, pointer]. */
    deref(obj, pointer) {
        for (let hops = 0; obj && typeof obj.$ref === 'string' && hops < 16; hops++) {
            if (!obj.$ref.startsWith('#/'))
                return [null, obj.$ref];
            pointer = obj.$ref.slice(1);
            obj = pointer
                .split('/')
                .slice(1)
                .reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), this.spec);
        }
        return [obj, pointer];
    }

    validator(pointer) {
        let v = this.compiled.get(pointer);
        if (!v) {
            v = this.ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
            this.compiled.set(pointer, v);
        }
        return v;
    }

    /* null when the response honours the contract, else what is wrong. */
    check(rec) {
        const method = (rec.method === 'HEAD' ? 'GET' : rec.method).toLowerCase();
        const template = this.match(rec.path);
        const item = template ? this.spec.paths[template] : null;
        const op = item ? item[method] : null;
        const media = (rec.content_type || '').split(';')[0].trim().toLowerCase();
        const where = { template: template || '(no path)', method: method.toUpperCase() };
        if (PRE_ROUTING_STATUSES.has(rec.status) && media !== 'application/problem+json')
            return [where, `answered ${rec.status} as '${media}', not a problem`];
        if (PRE_ROUTING_STATUSES.has(rec.status))
            return this.validate(where, '/components/schemas/Problem', rec, JSON.parse(rec.text));
        if (!op) {
            if (method === 'options' && (rec.status === 204 || rec.status === 404))
                return null;
            if (!GENERIC_STATUSES.has(rec.status))
                return [where, `no operation, answered ${rec.status}`];
            if (media !== 'application/problem+json')
                return [where, `no operation, answered ${rec.status} as '${media}', not a problem`];
            return this.validate(where, '/components/schemas/Problem', rec, JSON.parse(rec.text));
        }
        where.operation = op.operationId;
        const responses = op.responses || {};
        const st = String(rec.status);
        let key = st in responses ? st : `${st[0]}XX` in responses ? `${st[0]}XX` : 'default';
        if (!(key in responses))
            return [where, `status ${st} is not declared`];
        const base = `/paths/${pointerEscape(template)}/${method}/responses/${key}`;
        const [resp, respPointer] = this.deref(responses[key], base);
        if (!resp)
            return [where, `status ${st}: unresolvable response ${respPointer}`];
        const content = resp.content;
        const hasBody = typeof rec.text === 'string' && rec.text.length > 0;
        if (!content) {
            if (hasBody && rec.method !== 'HEAD')
                return [where, `status ${st}: a body was sent but the spec declares none`];
            return null;
        }
        if (rec.method === 'HEAD')
            return null;
        let mkey = null;
        for (const k of [media, `${media.split('/')[0]}/*`, '*/*'])
            if (k in content) {
                mkey = k;
                break;
            }
        if (!mkey)
            return [where, `status ${st}: content type '${media}' is not declared`];
        const mt = content[mkey];
        if (!mt.schema)
            return null;
        const schemaPointer = `${respPointer}/content/${pointerEscape(mkey)}/schema`;
        let value;
        if (media === 'application/json' || media.endsWith('+json'))
            value = JSON.parse(rec.text);
        else if (mt.schema.type === 'string')
            value = rec.text === undefined ? '' : rec.text; /* a text document */
        else if ('yaml' in rec)
            value = rec.yaml; /* the document the YAML text describes */
        else
            return [where, `status ${st}: a '${media}' body cannot be checked against a structured schema`];
        return this.validate(where, schemaPointer, rec, value);
    }

    validate(where, pointer, rec, value) {
        const v = this.validator(pointer);
        if (v(value))
            return null;
        const errs = v.errors
            .slice(0, 4)
            .map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}${e.params && e.params.unevaluatedProperty ? ` '${e.params.unevaluatedProperty}'` : ''}`);
        return [where, `status ${rec.status}: ${errs.join('; ')}`];
    }
}

/* Records the validator must refuse: if one passes, the check proves nothing. */
function selfTest(c) {
    const bad = [
        { method: 'GET', path: '/healthz', status: 418, content_type: 'application/json', text: '{}' },
        { method: 'GET', path: '/v1/workspace', status: 200, content_type: 'application/json', text: '{"id":1}' },
        { method: 'GET', path: '/v1/no-such-thing', status: 200, content_type: 'application/json', text: '{}' },
        {
            method: 'GET', path: '/v1/keys', status: 401, content_type: 'application/problem+json',
            text: '{"type":"/problems/unauthorized","title":"Unauthorized","status":401,"detail":"x","undeclared":1}',
        },
    ];
    for (const rec of bad)
        if (!c.check(rec))
            die(`self-test: ${rec.method} ${rec.path} -> ${rec.status} ${rec.text} passed; the validator is not checking`);
}

async function main() {
    if (process.argv.length !== 4)
        die('usage: validate.js OPENAPI_JSON RESPONSES_NDJSON');
    const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const c = new Contract(spec);
    selfTest(c);
    const failures = new Map(); /* one line per distinct problem, with a count and an example */
    let bad = 0;
    /* every response schema compiles in strict mode, called by a test or not */
    for (const [t, item] of Object.entries(spec.paths || {}))
        for (const [m, op] of Object.entries(item))
            for (const [st, r] of Object.entries((op && op.responses) || {})) {
                const [resp, rp] = c.deref(r, `/paths/${pointerEscape(t)}/${m}/responses/${st}`);
                for (const mk of Object.keys((resp && resp.content) || {}))
                    if (resp.content[mk].schema)
                        try {
                            c.validator(`${rp}/content/${pointerEscape(mk)}/schema`);
                        } catch (e) {
                            bad++;
                            failures.set(`${m.toUpperCase()} ${t} ${st} ${mk}: schema does not compile: ${e.message}`,
                                { count: 1, example: 'openapi.yaml' });
                        }
            }
    const seen = new Set();
    let n = 0;
    const rl = readline.createInterface({ input: fs.createReadStream(process.argv[3]), crlfDelay: Infinity });
    for await (const line of rl) {
        if (!line)
            continue;
        const rec = JSON.parse(line);
        n++;
        let res;
        try {
            res = c.check(rec);
        } catch (e) {
            res = [{ template: rec.path, method: rec.method }, `cannot check: ${e.message}`];
        }
        const t = c.match(rec.path);
        if (t)
            seen.add(`${(rec.method === 'HEAD' ? 'GET' : rec.method).toLowerCase()} ${t}`);
        if (!res)
            continue;
        bad++;
        const [where, msg] = res;
        const k = `${where.method} ${where.template}: ${msg}`;
        const f = failures.get(k) || { count: 0, example: `${rec.method} ${rec.path} (request ${rec.request_id || '?'})` };
        f.count++;
        failures.set(k, f);
    }
    let ops = 0;
    const unexercised = [];
    for (const [t, item] of Object.entries(spec.paths || {}))
        for (const m of ['get', 'put', 'post', 'patch', 'delete'])
            if (item[m]) {
                ops++;
                if (!seen.has(`${m} ${t}`))
                    unexercised.push(`${m.toUpperCase()} ${t}`);
            }
    for (const [k, f] of failures)
        process.stdout.write(`FAIL contract: ${k} (${f.count}x, e.g. ${f.example})\n`);
    if (unexercised.length)
        process.stdout.write(`contract: ${unexercised.length} operations no test called: ${unexercised.join(', ')}\n`);
    process.stdout.write(
        `contract (ajv ${require('ajv/package.json').version}, JSON Schema 2020-12): ${n} responses, ` +
            `${ops - unexercised.length} of ${ops} operations, ${bad} mismatches\n`,
    );
    if (n === 0)
        die(`${process.argv[3]} holds no responses: nothing was checked`);
    process.exitCode = bad ? 1 : 0;
}

main().catch((e) => die(e.stack || String(e)));
