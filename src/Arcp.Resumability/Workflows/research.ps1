<#
.SYNOPSIS
    The built-in "research" workflow: plan -> gather -> synthesize -> critique -> finalize.

.DESCRIPTION
    Answers a research request from a small local text corpus (the Corpus folder beside this
    file's Workflows folder by default), entirely offline, and returns a Markdown report.

    This is an ordinary workflow file: copy it, rename it and change the steps. The contract the
    module relies on:

      * Invoking the file (`& $path`, or dot-sourcing it) returns ONE hashtable with Name, Version
        and Steps (an ordered dictionary of step name -> scriptblock).
      * Each step receives the previous step's output as its first positional argument (the job's
        input for the first step) and returns exactly ONE object. Diagnostics go to Write-Verbose.
      * Between steps every output is serialized to JSON and back (it may cross a process crash),
        so a step must accept [pscustomobject]s, object[] arrays, strings, numbers, booleans and
        $null, whether or not its input has been round-tripped.
      * Every step is deterministic: the same input gives the identical output (no clock, no
        randomness, no dependence on directory listing order or hashtable enumeration order).
        Resume hashes step inputs, and an interrupted-and-resumed run must produce the
        byte-identical report of an uninterrupted run.

    Job input (for the plan step):
      * $null                          -> the default request (see $defaultRequest below)
      * a non-empty string             -> the request
      * a hashtable / object with       Request (or Topic), optional Corpus (folder path; relative
                                        paths resolve against the current location; on a runtime
                                        host only inside its -CorpusRoot folders) and optional
                                        MaxPassages (passages kept per question, default 3)
                                        MaxRounds (synthesize/critique rounds while the critique is
                                        high, 1 to 10, default 2)

    Shared helpers are scriptblocks captured into each step with .GetNewClosure(), so the steps
    keep working when the module invokes them later, from another location or scope. One side
    effect of closures: preference variables such as $VerbosePreference are read from the global
    scope (or from a local scope that was active when this file was loaded), not from the scope
    that invokes a step.
#>

& {
    # ---------------------------------------------------------------------------------------
    # Captured at file-load time. Steps are closures over these variables.
    # ---------------------------------------------------------------------------------------
    $defaultCorpus = [System.IO.Path]::GetFullPath((Join-Path -Path $PSScriptRoot -ChildPath '../Corpus'))
    $defaultRequest = 'How do durable checkpoints and idempotency keys make long-running jobs crash-proof?'
    $defaultMaxPassages = 3
    $defaultMaxRounds = 2
    $maxSentencesPerSummary = 3
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture

    # A built-in English stop-word list (plus question words and generic verbs that carry no topic).
    $stopWords = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
    foreach ($w in @(
            'a', 'about', 'above', 'after', 'again', 'against', 'all', 'also', 'always', 'am', 'an', 'and',
            'any', 'are', 'as', 'at', 'be', 'because', 'been', 'before', 'being', 'below', 'between', 'both',
            'but', 'by', 'can', 'cannot', 'could', 'did', 'do', 'does', 'doing', 'done', 'down', 'during',
            'each', 'either', 'else', 'etc', 'even', 'ever', 'every', 'few', 'for', 'from', 'further', 'get',
            'gets', 'give', 'given', 'go', 'goes', 'going', 'got', 'had', 'has', 'have', 'having', 'he', 'her',
            'here', 'hers', 'herself', 'him', 'himself', 'his', 'how', 'however', 'i', 'if', 'in', 'into', 'is',
            'it', 'its', 'itself', 'just', 'let', 'lets', 'like', 'made', 'make', 'makes', 'making', 'many',
            'may', 'me', 'might', 'more', 'most', 'much', 'must', 'my', 'myself', 'need', 'needs', 'never', 'no',
            'nor', 'not', 'now', 'of', 'off', 'often', 'on', 'once', 'one', 'only', 'or', 'other', 'others',
            'our', 'ours', 'ourselves', 'out', 'over', 'own', 'per', 'please', 'rather', 'really', 'same',
            'shall', 'she', 'should', 'so', 'some', 'such', 'than', 'that', 'the', 'their', 'theirs', 'them',
            'themselves', 'then', 'there', 'these', 'they', 'thing', 'things', 'this', 'those', 'though',
            'through', 'thus', 'to', 'too', 'under', 'until', 'up', 'upon', 'us', 'use', 'used', 'uses', 'using',
            'usually', 'very', 'via', 'want', 'was', 'way', 'ways', 'we', 'well', 'were', 'what', 'when',
            'whenever', 'where', 'whether', 'which', 'while', 'who', 'whom', 'whose', 'why', 'will', 'with',
            'within', 'without', 'work', 'works', 'would', 'yet', 'you', 'your', 'yours', 'yourself',
            'yourselves', 'explain', 'describe', 'tell', 'show', 'know', 'find', 'best', 'good', 'new',
            'cause', 'causes', 'caused', 'happen', 'happens', 'affect', 'affects', 'help', 'helps', 'mean',
            'means', 'matter', 'matters', 'keep', 'keeps', 'lead', 'leads'
        )) { $null = $stopWords.Add($w) }

    # Simple plural stemming: policies -> policy, processes -> process, indexes -> index, keys -> key.
    $stem = {
        param([string] $Word)
        if ($Word.Length -le 3) { return $Word }
        if ($Word.EndsWith('ies', [System.StringComparison]::Ordinal) -and $Word.Length -gt 4) { return $Word.Substring(0, $Word.Length - 3) + 'y' }
        if ($Word.EndsWith('sses', [System.StringComparison]::Ordinal)) { return $Word.Substring(0, $Word.Length - 2) }
        if ($Word.EndsWith('xes', [System.StringComparison]::Ordinal)) { return $Word.Substring(0, $Word.Length - 2) }
        if ($Word.EndsWith('ss', [System.StringComparison]::Ordinal) -or
            $Word.EndsWith('us', [System.StringComparison]::Ordinal) -or
            $Word.EndsWith('is', [System.StringComparison]::Ordinal)) { return $Word }
        if ($Word.EndsWith('s', [System.StringComparison]::Ordinal)) { return $Word.Substring(0, $Word.Length - 1) }
        return $Word
    }

    # Text -> list of stemmed, lower-case, non-stop-word tokens (in text order, duplicates kept).
    $tokenize = {
        param([string] $Text)
        $tokens = [System.Collections.Generic.List[string]]::new()
        if ([string]::IsNullOrEmpty($Text)) { return , $tokens.ToArray() }
        $lower = ($Text.ToLowerInvariant() -replace "['\u2019]", '')
        foreach ($raw in [regex]::Split($lower, '[^\p{L}\p{N}]+')) {
            if ($raw.Length -lt 2 -or $stopWords.Contains($raw)) { continue }
            $s = & $stem $raw
            if ($s.Length -lt 2 -or $stopWords.Contains($s)) { continue }
            $tokens.Add($s)
        }
        return , $tokens.ToArray()
    }.GetNewClosure()

    # Distinct values, first occurrence wins (ordinal), as a string array.
    $distinct = {
        param($Values)
        $seen = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
        $out = [System.Collections.Generic.List[string]]::new()
        foreach ($v in @($Values)) {
            if ($null -eq $v) { continue }
            $s = [string] $v
            if ($seen.Add($s)) { $out.Add($s) }
        }
        return , $out.ToArray()
    }

    # Optional member lookup that works for hashtables, ordered dictionaries and objects from JSON,
    # case-insensitively, and under Set-StrictMode.
    $getMember = {
        param($Object, [string] $Name)
        if ($null -eq $Object) { return $null }
        if ($Object -is [System.Collections.IDictionary]) {
            foreach ($k in @($Object.Keys)) {
                if ([string]::Equals([string] $k, $Name, [System.StringComparison]::OrdinalIgnoreCase)) { return $Object[$k] }
            }
            return $null
        }
        $p = $Object.PSObject.Properties[$Name]
        if ($null -eq $p) { return $null }
        return $p.Value
    }

    # Split a paragraph into sentences (keeps the terminating punctuation).
    $splitSentences = {
        param([string] $Text)
        $out = [System.Collections.Generic.List[string]]::new()
        foreach ($s in [regex]::Split($Text.Trim(), '(?<=[.!?])\s+(?=[\p{Lu}\p{N}"''(\[])')) {
            $t = $s.Trim()
            if ($t.Length -gt 0) { $out.Add($t) }
        }
        return , $out.ToArray()
    }

    $round4 = {
        param([double] $Value)
        return [System.Math]::Round($Value, 4, [System.MidpointRounding]::AwayFromZero)
    }

    # Query-expansion words: they only add weight to a passage that already matches a core keyword.
    $mechanismWords = & $tokenize 'step write store record commit retry sequence'
    $failureWords = & $tokenize 'fail failure crash lost loss error wrong duplicate corrupt expire stale'
    $recoveryWords = & $tokenize 'crash recovery recover resume restart replay'

    # ---------------------------------------------------------------------------------------
    # Steps
    # ---------------------------------------------------------------------------------------

    $plan = {
        param($Request)

        # --- interpret the job input -------------------------------------------------------
        $text = $null
        $corpusArg = $null
        $maxArg = $null
        $roundsArg = $null
        if ($null -eq $Request) {
            $text = $defaultRequest
        }
        elseif ($Request -is [string]) {
            if ([string]::IsNullOrWhiteSpace($Request)) {
                throw "research/plan: the request is an empty string. Pass a question such as '$defaultRequest', `$null for that default, or @{ Request = '...'; Corpus = '<folder>'; MaxPassages = 3 }."
            }
            $text = $Request
        }
        elseif ($Request -is [System.Collections.IDictionary] -or $Request -is [System.Management.Automation.PSCustomObject] -or
            ($Request -is [psobject] -and $Request.PSObject.BaseObject -is [System.Management.Automation.PSCustomObject])) {
            $r = & $getMember $Request 'Request'
            if ($null -eq $r) { $r = & $getMember $Request 'Topic' }
            if ($r -isnot [string] -or [string]::IsNullOrWhiteSpace($r)) {
                throw "research/plan: the input object needs a non-empty string 'Request' (or 'Topic') property."
            }
            $text = $r
            $corpusArg = & $getMember $Request 'Corpus'
            $maxArg = & $getMember $Request 'MaxPassages'
            $roundsArg = & $getMember $Request 'MaxRounds'
        }
        else {
            throw "research/plan: unsupported input of type [$($Request.GetType().FullName)]. Pass `$null, a non-empty request string, or an object with Request (or Topic), optional Corpus and optional MaxPassages."
        }

        # --- corpus folder -----------------------------------------------------------------
        if ($null -eq $corpusArg -or ($corpusArg -is [string] -and [string]::IsNullOrWhiteSpace($corpusArg))) {
            $corpus = $defaultCorpus
            if ([string]::IsNullOrEmpty($corpus)) { throw 'research/plan: no default corpus folder is known; pass Corpus explicitly.' }
        }
        else {
            if ($corpusArg -isnot [string]) { throw "research/plan: Corpus must be a folder path string, not [$($corpusArg.GetType().FullName)]." }
            # Input from a runtime host's client may only name folders inside the operator's -CorpusRoot.
            $arcpStep = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
            if ($arcpStep -and $arcpStep.InputIsRemote) { $corpus = $arcpStep.ResolveInputFolder($corpusArg) }
            else { $corpus = [System.IO.Path]::GetFullPath($ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($corpusArg)) }
        }
        if (-not [System.IO.Directory]::Exists($corpus)) {
            if ([System.IO.File]::Exists($corpus)) { throw "research/plan: the corpus path '$corpus' is a file; Corpus must be a folder of *.md / *.txt files." }
            throw "research/plan: the corpus folder '$corpus' does not exist."
        }

        # --- MaxPassages -------------------------------------------------------------------
        $maxPassages = $defaultMaxPassages
        if ($null -ne $maxArg) {
            $ok = $false
            if ($maxArg -is [int] -or $maxArg -is [long] -or $maxArg -is [short] -or $maxArg -is [byte]) { $ok = $true; $n = [long] $maxArg }
            elseif (($maxArg -is [double] -or $maxArg -is [decimal]) -and [System.Math]::Floor([double] $maxArg) -eq [double] $maxArg) { $ok = $true; $n = [long] $maxArg }
            elseif ($maxArg -is [string] -and $maxArg -match '^\s*\d{1,4}\s*$') { $ok = $true; $n = [long] $maxArg.Trim() }
            if (-not $ok -or $n -lt 1 -or $n -gt 50) { throw "research/plan: MaxPassages must be a whole number between 1 and 50 (got '$maxArg')." }
            $maxPassages = [int] $n
        }

        # --- MaxRounds: synthesize/critique rounds while the critique stays 'high' -----------
        $maxRounds = $defaultMaxRounds
        if ($null -ne $roundsArg) {
            $rounds = 0
            if (-not [int]::TryParse([string] $roundsArg, [System.Globalization.NumberStyles]::Integer, $invariant, [ref] $rounds) -or $rounds -lt 1 -or $rounds -gt 10) {
                throw "research/plan: MaxRounds must be a whole number between 1 and 10 (got '$roundsArg')."
            }
            $maxRounds = $rounds
        }

        # --- request, keywords, sub-requests -----------------------------------------------
        $normalized = ([regex]::Replace($text, '\s+', ' ')).Trim()
        $keywords = & $distinct (& $tokenize $normalized)
        if ($keywords.Length -eq 0) {
            throw "research/plan: the request '$normalized' has no meaningful keywords (only stop words or punctuation)."
        }

        $subs = [System.Collections.Generic.List[object]]::new()
        $seenPhrases = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
        foreach ($part in [regex]::Split($normalized, '(?i)\s+and\s+|;|\?')) {
            $part = $part.Trim()
            if ($part.Length -eq 0) { continue }
            $subKeywords = & $distinct (& $tokenize $part)
            if ($subKeywords.Length -eq 0) { continue }

            # Key phrase: the first run of up to three consecutive content words, as written.
            $words = @($part -split ' ')
            $phraseWords = [System.Collections.Generic.List[string]]::new()
            $phraseKeywords = [System.Collections.Generic.List[string]]::new()
            $plural = $false
            foreach ($word in $words) {
                $surface = $word -replace '^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$', ''
                $parts = & $tokenize $surface
                if ($parts.Length -eq 0) {
                    if ($phraseWords.Count -gt 0) { break } else { continue }
                }
                if ($surface -cmatch '^\p{Lu}\p{Ll}+$') { $surface = $surface.ToLowerInvariant() }
                $phraseWords.Add($surface)
                foreach ($p in $parts) { $phraseKeywords.Add($p) }
                $lastRaw = ([regex]::Split(($surface.ToLowerInvariant() -replace "['\u2019]", ''), '[^\p{L}\p{N}]+') | Where-Object { $_.Length -gt 0 } | Select-Object -Last 1)
                $plural = ($null -ne $lastRaw) -and ((& $stem $lastRaw) -cne $lastRaw)
                if ($phraseWords.Count -ge 3) { break }
            }
            $phrase = $phraseWords -join ' '
            if (-not $seenPhrases.Add($phrase)) { continue }
            $phraseKeywordArray = & $distinct $phraseKeywords
            $context = @($subKeywords | Where-Object { $phraseKeywordArray -cnotcontains $_ })
            $subs.Add([pscustomobject]@{
                    Phrase         = $phrase
                    Plural         = $plural
                    PhraseKeywords = $phraseKeywordArray
                    Keywords       = $subKeywords
                    Context        = [string[]] $context
                })
            if ($subs.Count -ge 6) { break }
        }
        if ($subs.Count -eq 0) { throw "research/plan: could not derive any research question from '$normalized'." }

        # --- questions ---------------------------------------------------------------------
        $questions = [System.Collections.Generic.List[object]]::new()
        $addQuestion = {
            param([string] $QuestionText, $Core, $Extra)
            $coreArray = & $distinct $Core
            $extraList = [System.Collections.Generic.List[string]]::new()
            foreach ($e in (& $distinct $Extra)) { if ($coreArray -cnotcontains $e) { $extraList.Add($e) } }
            $questions.Add([pscustomobject]@{
                    Id            = 'Q' + ($questions.Count + 1).ToString($invariant)
                    Text          = $QuestionText
                    Keywords      = $coreArray
                    ExtraKeywords = $extraList.ToArray()
                })
        }
        $whatIs = { param($s) if ($s.Plural) { "What are $($s.Phrase)?" } else { "What is $($s.Phrase)?" } }
        $howWorks = { param($s) if ($s.Plural) { "How do $($s.Phrase) work?" } else { "How does $($s.Phrase) work?" } }
        $allKeywords = & $distinct @($subs | ForEach-Object { $_.Keywords })
        $phrases = @($subs | ForEach-Object { $_.Phrase })
        $joined = if ($phrases.Count -le 2) { $phrases -join ' and ' } else { ($phrases[0..($phrases.Count - 2)] -join ', ') + ' and ' + $phrases[-1] }

        if ($subs.Count -eq 1) {
            $s = $subs[0]
            & $addQuestion (& $whatIs $s) $s.PhraseKeywords $s.Context
            & $addQuestion (& $howWorks $s) $s.PhraseKeywords (@($s.Context) + @($mechanismWords))
            & $addQuestion "What can go wrong with $($s.Phrase)?" $s.Keywords $failureWords
            $verb = if ($s.Plural) { 'do' } else { 'does' }
            & $addQuestion "How $verb $($s.Phrase) relate to crash recovery?" $s.Keywords $recoveryWords
        }
        elseif ($subs.Count -le 3) {
            foreach ($s in $subs) {
                & $addQuestion (& $whatIs $s) $s.PhraseKeywords $s.Context
                & $addQuestion (& $howWorks $s) $s.PhraseKeywords (@($s.Context) + @($mechanismWords))
            }
            if ($subs.Count -eq 2) {
                & $addQuestion "How do ${joined} work together?" $allKeywords @()
                & $addQuestion "What can go wrong with ${joined}?" $allKeywords $failureWords
            }
        }
        else {
            foreach ($s in $subs) { & $addQuestion (& $whatIs $s) $s.PhraseKeywords $s.Context }
            if ($questions.Count -lt 6) { & $addQuestion "What can go wrong with ${joined}?" $allKeywords $failureWords }
        }

        Write-Verbose "research/plan: '$normalized' -> $($questions.Count) questions, keywords: $($keywords -join ', '); corpus: $corpus"
        $step = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
        if ($step) { $step.Thought("Split the request into $($questions.Count) question(s) around the keywords $($keywords -join ', ').") }
        return [pscustomobject]@{
            Request     = $normalized
            Corpus      = $corpus
            MaxPassages = $maxPassages
            MaxRounds   = $maxRounds
            Keywords    = $keywords
            Questions   = $questions.ToArray()
        }
    }.GetNewClosure()

    $gather = {
        param($Plan)
        if ($null -eq $Plan) { throw 'research/gather: no plan was given (the plan step output is $null).' }
        $corpus = [string] (& $getMember $Plan 'Corpus')
        $maxPassages = [int] (& $getMember $Plan 'MaxPassages')
        if ($maxPassages -lt 1) { $maxPassages = $defaultMaxPassages }
        # A recorded plan is input too: for a runtime host's client it is checked again, like the plan checked it.
        $arcpStep = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
        if ($arcpStep -and $arcpStep.InputIsRemote -and $corpus -ne $defaultCorpus) { $corpus = $arcpStep.ResolveInputFolder($corpus) }
        if ([string]::IsNullOrEmpty($corpus) -or -not [System.IO.Directory]::Exists($corpus)) {
            throw "research/gather: the corpus folder '$corpus' does not exist."
        }

        # Files: *.md and *.txt, top level only, sorted ordinally by name.
        $names = [System.Collections.Generic.List[string]]::new()
        foreach ($f in [System.IO.Directory]::GetFiles($corpus)) {
            $ext = [System.IO.Path]::GetExtension($f)
            if ([string]::Equals($ext, '.md', [System.StringComparison]::OrdinalIgnoreCase) -or
                [string]::Equals($ext, '.txt', [System.StringComparison]::OrdinalIgnoreCase)) {
                $names.Add([System.IO.Path]::GetFileName($f))
            }
        }
        $names.Sort([System.StringComparer]::Ordinal)

        # Passages: paragraphs separated by blank lines; heading lines are not passages.
        $all = [System.Collections.Generic.List[object]]::new()
        foreach ($name in $names) {
            $path = [System.IO.Path]::Combine($corpus, $name)
            try { $content = [System.IO.File]::ReadAllText($path, [System.Text.Encoding]::UTF8) }
            catch { Write-Verbose "research/gather: skipping unreadable file '$name': $($_.Exception.Message)"; continue }
            $content = $content.Replace("`r`n", "`n").Replace("`r", "`n")
            $title = [System.IO.Path]::GetFileNameWithoutExtension($name)
            $m = [regex]::Match($content, '(?m)^#[ \t]+(.+?)[ \t#]*$')
            if ($m.Success) { $title = $m.Groups[1].Value.Trim() }
            $titleTerms = [System.Collections.Generic.HashSet[string]]::new([string[]] (& $tokenize $title), [System.StringComparer]::Ordinal)
            $paragraph = 0
            foreach ($block in [regex]::Split($content, '\n[ \t]*\n')) {
                $lines = @($block -split "`n" | Where-Object { $_.Trim().Length -gt 0 -and -not $_.TrimStart().StartsWith('#') })
                if ($lines.Count -eq 0) { continue }
                $passageText = ([regex]::Replace(($lines -join ' '), '\s+', ' ')).Trim()
                $tokens = & $tokenize $passageText
                if ($tokens.Length -eq 0) { continue }
                $paragraph++
                $tf = [System.Collections.Generic.Dictionary[string, int]]::new([System.StringComparer]::Ordinal)
                foreach ($t in $tokens) { if ($tf.ContainsKey($t)) { $tf[$t]++ } else { $tf[$t] = 1 } }
                $all.Add([pscustomobject]@{
                        Index     = $all.Count
                        Source    = $name
                        Title     = $title
                        TitleTerms = $titleTerms
                        Paragraph = $paragraph
                        Text      = $passageText
                        Length    = $tokens.Length
                        Tf        = $tf
                    })
            }
        }
        if ($all.Count -eq 0) {
            throw "research/gather: the corpus folder '$corpus' has no readable *.md or *.txt files with text in them."
        }

        # BM25 over the whole corpus of passages, plus a title boost for passages that already match.
        $n = $all.Count
        $df = [System.Collections.Generic.Dictionary[string, int]]::new([System.StringComparer]::Ordinal)
        $totalLength = 0
        foreach ($p in $all) {
            $totalLength += $p.Length
            foreach ($t in $p.Tf.Keys) { if ($df.ContainsKey($t)) { $df[$t]++ } else { $df[$t] = 1 } }
        }
        $avgLength = [double] $totalLength / $n
        $k1 = 1.2; $b = 0.75; $titleBoost = 1.0
        $idfOf = {
            param([string] $Term)
            $d = 0
            $null = $df.TryGetValue($Term, [ref] $d)
            return [System.Math]::Log(1.0 + ($n - $d + 0.5) / ($d + 0.5))
        }
        $bm25 = {
            param($P, [string] $Term)
            $tfv = 0
            if (-not $P.Tf.TryGetValue($Term, [ref] $tfv)) { return 0.0 }
            return (& $idfOf $Term) * ($tfv * ($k1 + 1.0)) / ($tfv + $k1 * (1.0 - $b + $b * $P.Length / $avgLength))
        }

        $keptBest = [System.Collections.Generic.Dictionary[int, double]]::new()
        $perQuestion = [System.Collections.Generic.List[object]]::new()
        foreach ($q in @(& $getMember $Plan 'Questions')) {
            $core = @(& $getMember $q 'Keywords')
            $extra = @(& $getMember $q 'ExtraKeywords')
            $scored = [System.Collections.Generic.List[object]]::new()
            foreach ($p in $all) {
                $coreScore = 0.0
                foreach ($k in $core) { if ($null -ne $k) { $coreScore += (& $bm25 $p ([string] $k)) } }
                if ($coreScore -le 0) { continue }
                # Field boost: the passage's file title names the topic being asked about.
                foreach ($k in $core) { if ($null -ne $k -and $p.TitleTerms.Contains([string] $k)) { $coreScore += $titleBoost * (& $idfOf ([string] $k)) } }
                $extraScore = 0.0
                foreach ($k in $extra) { if ($null -ne $k) { $extraScore += (& $bm25 $p ([string] $k)) } }
                $score = & $round4 ($coreScore + 0.5 * $extraScore)
                if ($score -gt 0) { $scored.Add([pscustomobject]@{ Index = $p.Index; Score = $score }) }
            }
            $top = @($scored | Sort-Object -Property @{ Expression = 'Score'; Descending = $true }, @{ Expression = 'Index'; Descending = $false } | Select-Object -First $maxPassages)
            foreach ($hit in $top) {
                $prev = 0.0
                if (-not $keptBest.TryGetValue($hit.Index, [ref] $prev) -or $hit.Score -gt $prev) { $keptBest[$hit.Index] = $hit.Score }
            }
            $perQuestion.Add([pscustomobject]@{ Question = $q; Hits = $top })
        }

        # Stable passage ids: P1.. in corpus order (file name, then paragraph).
        $keptIndexes = [System.Collections.Generic.List[int]]::new()
        foreach ($p in $all) { if ($keptBest.ContainsKey($p.Index)) { $keptIndexes.Add($p.Index) } }
        $idOf = [System.Collections.Generic.Dictionary[int, string]]::new()
        $passages = [System.Collections.Generic.List[object]]::new()
        foreach ($i in $keptIndexes) {
            $p = $all[$i]
            $id = 'P' + ($passages.Count + 1).ToString($invariant)
            $idOf[$i] = $id
            $passages.Add([pscustomobject]@{
                    Id        = $id
                    Source    = $p.Source
                    Title     = $p.Title
                    Paragraph = $p.Paragraph
                    Text      = $p.Text
                    Score     = $keptBest[$i]
                })
        }

        $questions = [System.Collections.Generic.List[object]]::new()
        foreach ($entry in $perQuestion) {
            $q = $entry.Question
            $ids = [string[]] @($entry.Hits | ForEach-Object { $idOf[$_.Index] })
            if ($null -eq $ids) { $ids = [string[]] @() }
            $questions.Add([pscustomobject]@{
                    Id            = [string] (& $getMember $q 'Id')
                    Text          = [string] (& $getMember $q 'Text')
                    Keywords      = [string[]] @(& $getMember $q 'Keywords')
                    ExtraKeywords = [string[]] @(& $getMember $q 'ExtraKeywords')
                    PassageIds    = $ids
                })
            Write-Verbose "research/gather: $($q.Id) -> $(if ($ids.Length) { $ids -join ', ' } else { 'no passages' })"
        }

        Write-Verbose "research/gather: $($names.Count) files, $n passages scanned, $($passages.Count) kept."
        $step = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
        if ($step) { $step.Thought("Kept $($passages.Count) of $n passage(s) from $($names.Count) file(s) as evidence.") }
        return [pscustomobject]@{
            Request   = [string] (& $getMember $Plan 'Request')
            Corpus    = $corpus
            Keywords  = [string[]] @(& $getMember $Plan 'Keywords')
            Questions = $questions.ToArray()
            Passages  = $passages.ToArray()
            MaxRounds = & $getMember $Plan 'MaxRounds'
        }
    }.GetNewClosure()

    $synthesize = {
        param($Gathered)
        if ($null -eq $Gathered) { throw 'research/synthesize: no gathered evidence was given (the gather step output is $null).' }
        $passages = @(& $getMember $Gathered 'Passages')
        $byId = [System.Collections.Generic.Dictionary[string, object]]::new([System.StringComparer]::Ordinal)
        foreach ($p in $passages) { $byId[[string] (& $getMember $p 'Id')] = $p }

        # A revision round gets the critique output: its critique joins the earlier ones (so every round's input,
        # and with it the step's idempotency key, differs) and each summary may use one more sentence per round.
        $round = [int] (& $getMember $Gathered 'Round') + 1
        $priorCritiques = [System.Collections.Generic.List[object]]::new()
        foreach ($c in @(& $getMember $Gathered 'PriorCritiques')) { if ($null -ne $c) { $priorCritiques.Add($c) } }
        $previous = & $getMember $Gathered 'Critique'
        if ($null -ne $previous) { $priorCritiques.Add($previous) }
        $sentencesPerSummary = $maxSentencesPerSummary + $round - 1
        $step = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
        if ($step -and $null -ne $previous) {
            $step.Thought("Round ${round}: the critique scored $(& $getMember $previous 'Score') ($(& $getMember $previous 'Severity')); revising with up to $sentencesPerSummary sentences per answer.")
        }

        $uses = [System.Collections.Generic.Dictionary[string, int]]::new([System.StringComparer]::Ordinal)
        $sections = [System.Collections.Generic.List[object]]::new()
        $questions = @(& $getMember $Gathered 'Questions')
        foreach ($q in $questions) {
            $core = [System.Collections.Generic.HashSet[string]]::new([string[]] @(@(& $getMember $q 'Keywords') | Where-Object { $null -ne $_ }), [System.StringComparer]::Ordinal)
            $extra = [System.Collections.Generic.HashSet[string]]::new([string[]] @(@(& $getMember $q 'ExtraKeywords') | Where-Object { $null -ne $_ }), [System.StringComparer]::Ordinal)
            $ids = @(@(& $getMember $q 'PassageIds') | Where-Object { $null -ne $_ -and $byId.ContainsKey([string] $_) })

            $candidates = [System.Collections.Generic.List[object]]::new()
            for ($rank = 0; $rank -lt $ids.Count; $rank++) {
                $pid_ = [string] $ids[$rank]
                $sentences = & $splitSentences ([string] (& $getMember $byId[$pid_] 'Text'))
                for ($si = 0; $si -lt $sentences.Length; $si++) {
                    $sentenceTokens = & $tokenize $sentences[$si]
                    $tokens = [System.Collections.Generic.HashSet[string]]::new([string[]] $sentenceTokens, [System.StringComparer]::Ordinal)
                    $coreHits = 0; foreach ($k in $core) { if ($tokens.Contains($k)) { $coreHits++ } }
                    $extraHits = 0; foreach ($k in $extra) { if ($tokens.Contains($k)) { $extraHits++ } }
                    $usedBefore = 0; $null = $uses.TryGetValue("$pid_#$si", [ref] $usedBefore)
                    $score = $coreHits + 0.5 * $extraHits
                    $candidates.Add([pscustomobject]@{
                            Key      = "$pid_#$si"
                            Rank     = $rank
                            Position = $si
                            Passage  = $pid_
                            Text     = $sentences[$si]
                            Core     = $coreHits
                            Words    = $sentenceTokens.Length
                            Score    = $score
                            Uses     = $usedBefore
                            Priority = $score / (1 + 2 * $usedBefore)
                        })
                }
            }

            # Sentences that mention a core keyword and carry enough content to stand on their own.
            $pool = @($candidates | Where-Object { $_.Core -gt 0 -and $_.Words -ge 5 })
            if ($pool.Count -eq 0) { $pool = @($candidates | Where-Object { $_.Core -gt 0 }) }
            if ($pool.Count -eq 0) { $pool = @($candidates | Where-Object { $_.Score -gt 0 }) }
            if ($pool.Count -eq 0) { $pool = @($candidates | Where-Object { $_.Rank -eq 0 -and $_.Position -eq 0 }) }
            # Relevance first, discounted for each earlier question that already used the sentence (so
            # related questions do not repeat each other), then evidence rank, then position.
            $chosen = @($pool |
                    Sort-Object -Property @{ Expression = 'Priority'; Descending = $true }, 'Uses', 'Rank', 'Position' |
                    Select-Object -First $sentencesPerSummary |
                    Sort-Object -Property 'Rank', 'Position')

            $questionId = [string] (& $getMember $q 'Id')
            $questionText = [string] (& $getMember $q 'Text')
            if ($chosen.Count -eq 0) {
                $summary = "No evidence was found in the corpus for this question."
                $citations = [string[]] @()
            }
            else {
                $summary = (@($chosen | ForEach-Object { "$($_.Text) [$($_.Passage)]" }) -join ' ')
                $citations = & $distinct @($chosen | ForEach-Object { $_.Passage })
                foreach ($c in $chosen) { $uses[$c.Key] = $c.Uses + 1 }
            }
            $sections.Add([pscustomobject]@{
                    QuestionId = $questionId
                    Question   = $questionText
                    Summary    = $summary
                    Citations  = $citations
                })
            Write-Verbose "research/synthesize: $questionId -> $($chosen.Count) sentences, citations: $($citations -join ', ')"
        }

        return [pscustomobject]@{
            Request   = [string] (& $getMember $Gathered 'Request')
            Keywords  = [string[]] @(& $getMember $Gathered 'Keywords')
            Questions = $questions
            Passages  = $passages
            Sections  = $sections.ToArray()
            Round          = $round
            MaxRounds      = & $getMember $Gathered 'MaxRounds'
            PriorCritiques = $priorCritiques.ToArray()
        }
    }.GetNewClosure()

    $critique = {
        param($Synthesis)
        if ($null -eq $Synthesis) { throw 'research/critique: no synthesis was given (the synthesize step output is $null).' }
        $sections = @(& $getMember $Synthesis 'Sections')
        $passages = @(& $getMember $Synthesis 'Passages')
        $keywords = @(@(& $getMember $Synthesis 'Keywords') | Where-Object { $null -ne $_ } | ForEach-Object { [string] $_ })
        $findings = [System.Collections.Generic.List[string]]::new()

        # Question coverage: share of questions with at least one citation.
        $supported = 0
        foreach ($s in $sections) {
            $cites = @(@(& $getMember $s 'Citations') | Where-Object { $null -ne $_ })
            if ($cites.Count -gt 0) { $supported++ }
            else { $findings.Add("$(& $getMember $s 'QuestionId') has no supporting evidence in the corpus: $(& $getMember $s 'Question')") }
        }
        $coverage = if ($sections.Count -gt 0) { & $round4 ($supported / $sections.Count) } else { 0.0 }

        # Keyword coverage: share of request keywords present in the summaries.
        $summaryTokens = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
        foreach ($s in $sections) {
            $summaryText = [regex]::Replace([string] (& $getMember $s 'Summary'), '\[P\d+\]', ' ')
            foreach ($t in (& $tokenize $summaryText)) { $null = $summaryTokens.Add($t) }
        }
        $found = 0
        foreach ($k in $keywords) {
            if ($summaryTokens.Contains($k)) { $found++ } else { $findings.Add("keyword '$k' never appears in the synthesis") }
        }
        $keywordCoverage = if ($keywords.Count -gt 0) { & $round4 ($found / $keywords.Count) } else { 0.0 }

        # Distinct sources cited.
        $sourceOf = [System.Collections.Generic.Dictionary[string, string]]::new([System.StringComparer]::Ordinal)
        foreach ($p in $passages) { $sourceOf[[string] (& $getMember $p 'Id')] = [string] (& $getMember $p 'Source') }
        $sources = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
        foreach ($s in $sections) {
            $cites = @(@(& $getMember $s 'Citations') | Where-Object { $null -ne $_ })
            foreach ($c in $cites) { $src = $null; if ($sourceOf.TryGetValue([string] $c, [ref] $src)) { $null = $sources.Add($src) } }
            if ($cites.Count -eq 1) { $findings.Add("$(& $getMember $s 'QuestionId') rests on a single passage ($($cites[0]))") }
        }
        $sourcesCited = $sources.Count
        if ($sourcesCited -eq 0) { $findings.Add('no source was cited at all') }
        elseif ($sourcesCited -lt 3) { $findings.Add("only $sourcesCited source file(s) cited; the answer rests on a narrow base") }

        $sourceScore = [System.Math]::Min(1.0, $sourcesCited / 3.0)
        $score = & $round4 (0.5 * $coverage + 0.3 * $keywordCoverage + 0.2 * $sourceScore)
        $severity = if ($score -ge 0.75) { 'low' } elseif ($score -ge 0.5) { 'medium' } else { 'high' }
        if ($findings.Count -eq 0) { $findings.Add('no gaps found: every question is supported and every keyword is covered') }

        Write-Verbose "research/critique: score $score ($severity), coverage $coverage, keyword coverage $keywordCoverage, sources $sourcesCited"
        $step = Get-Variable -Name ArcpStep -ValueOnly -ErrorAction Ignore
        if ($step) { $step.Thought("Critique: score $score, severity $severity; $($findings.Count) finding(s).") }
        return [pscustomobject]@{
            Request   = [string] (& $getMember $Synthesis 'Request')
            Keywords  = [string[]] $keywords
            Questions = @(& $getMember $Synthesis 'Questions')
            Passages  = $passages
            Sections  = $sections
            Round          = & $getMember $Synthesis 'Round'
            MaxRounds      = & $getMember $Synthesis 'MaxRounds'
            PriorCritiques = @(& $getMember $Synthesis 'PriorCritiques')
            Critique  = [pscustomobject]@{
                Score           = $score
                Severity        = $severity
                Coverage        = $coverage
                KeywordCoverage = $keywordCoverage
                SourcesCited    = $sourcesCited
                Findings        = $findings.ToArray()
            }
        }
    }.GetNewClosure()

    $finalize = {
        param($Critiqued)
        if ($null -eq $Critiqued) { throw 'research/finalize: nothing to report (the critique step output is $null).' }
        $fmt = { param($Value) ([double] $Value).ToString('0.0000', $invariant) }
        $sections = @(& $getMember $Critiqued 'Sections')
        $passages = @(& $getMember $Critiqued 'Passages')
        $crit = & $getMember $Critiqued 'Critique'
        $byId = [System.Collections.Generic.Dictionary[string, object]]::new([System.StringComparer]::Ordinal)
        foreach ($p in $passages) { $byId[[string] (& $getMember $p 'Id')] = $p }

        $cited = [System.Collections.Generic.List[string]]::new()
        $citedSet = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
        foreach ($s in $sections) {
            foreach ($c in @(& $getMember $s 'Citations')) { if ($null -ne $c -and $citedSet.Add([string] $c)) { $cited.Add([string] $c) } }
        }
        $citedSorted = @($cited | Sort-Object -Property @{ Expression = { [int] $_.Substring(1) } })
        $citedSources = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::Ordinal)
        foreach ($c in $citedSorted) { if ($byId.ContainsKey($c)) { $null = $citedSources.Add([string] (& $getMember $byId[$c] 'Source')) } }

        $lines = [System.Collections.Generic.List[string]]::new()
        $lines.Add("# Research report: $(& $getMember $Critiqued 'Request')")
        $lines.Add('')
        $lines.Add("Answered $($sections.Count) question(s) using $($citedSorted.Count) cited passage(s) from $($citedSources.Count) source file(s).")
        foreach ($s in $sections) {
            $lines.Add('')
            $lines.Add("## $(& $getMember $s 'QuestionId'). $(& $getMember $s 'Question')")
            $lines.Add('')
            $lines.Add([string] (& $getMember $s 'Summary'))
            $cites = @(@(& $getMember $s 'Citations') | Where-Object { $null -ne $_ })
            $lines.Add('')
            $lines.Add($(if ($cites.Count -gt 0) { 'Citations: ' + (@($cites | ForEach-Object { "[$_]" }) -join ', ') } else { 'Citations: none' }))
        }

        $lines.Add('')
        $lines.Add('## Critique')
        $lines.Add('')
        $lines.Add("- Score: $(& $fmt (& $getMember $crit 'Score'))")
        $lines.Add("- Severity: $(& $getMember $crit 'Severity')")
        $lines.Add("- Question coverage: $(& $fmt (& $getMember $crit 'Coverage'))")
        $lines.Add("- Keyword coverage: $(& $fmt (& $getMember $crit 'KeywordCoverage'))")
        $lines.Add("- Sources cited: $(& $getMember $crit 'SourcesCited')")
        $rounds = [int] (& $getMember $Critiqued 'Round')
        if ($rounds -gt 1) { $lines.Add("- Synthesis rounds: $rounds (earlier scores: $(@(@(& $getMember $Critiqued 'PriorCritiques') | ForEach-Object { & $fmt (& $getMember $_ 'Score') }) -join ', '))") }
        $lines.Add('')
        $lines.Add('Findings:')
        $lines.Add('')
        foreach ($f in @(& $getMember $crit 'Findings')) { $lines.Add("- $f") }

        $lines.Add('')
        $lines.Add('## Sources')
        $lines.Add('')
        if ($citedSorted.Count -eq 0) { $lines.Add('No passages were cited.') }
        foreach ($c in $citedSorted) {
            if (-not $byId.ContainsKey($c)) { $lines.Add("- [$c] (passage not found)"); continue }
            $p = $byId[$c]
            $lines.Add("- [$c] $(& $getMember $p 'Source'), paragraph $(& $getMember $p 'Paragraph'): $(& $getMember $p 'Title')")
        }

        $report = ($lines -join "`n") + "`n"
        Write-Verbose "research/finalize: report of $($report.Length) characters"
        return $report
    }.GetNewClosure()

    # After critique: back to synthesize while the critique is 'high' and rounds are left, else finalize.
    # Deterministic (a function of the recorded critique output), as a resume evaluates it again.
    $afterCritique = {
        param($Critiqued)
        $severity = & $getMember (& $getMember $Critiqued 'Critique') 'Severity'
        $maxRounds = [int] (& $getMember $Critiqued 'MaxRounds')
        if ($maxRounds -lt 1) { $maxRounds = $defaultMaxRounds }
        if ($severity -eq 'high' -and [int] (& $getMember $Critiqued 'Round') -lt $maxRounds) { 'synthesize' } else { 'finalize' }
    }.GetNewClosure()

    @{
        Name    = 'research'
        Version = '1.1.0'
        Next    = @{ critique = $afterCritique }
        Steps   = [ordered]@{
            plan       = $plan
            gather     = $gather
            synthesize = $synthesize
            critique   = $critique
            finalize   = $finalize
        }
    }
}
