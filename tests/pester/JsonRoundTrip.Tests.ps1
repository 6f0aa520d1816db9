# Step outputs cross a JSON round trip (they may have to survive a process crash): what the next step
# receives, and what Get-ArcpCheckpoint reads back, must equal what the step returned. Outputs that
# cannot be recorded faithfully fail the step without touching earlier checkpoints.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)

    $script:Folder = New-TestFolder
    $script:Store = New-TestStore -Folder $script:Folder
    # A command that forgot -Store would land in this decoy, never in the user's real default store.
    $script:SavedArcpStore = $env:ARCP_STORE
    $env:ARCP_STORE = Join-Path $script:Folder 'decoy-default.db'
}

AfterAll {
    $env:ARCP_STORE = $script:SavedArcpStore
    Remove-TestFolder
}

Describe 'Compare-DeepValue (the comparer these tests rely on)' {
    It 'reports a changed leaf, a lost single-element array, a changed date kind, a changed type and a missing key' {
        $expected = [ordered]@{ A = 1; B = 'X'; C = [datetime]::new(2024, 1, 1, 0, 0, 0, [DateTimeKind]::Local); D = @('only'); E = 0.1; F = $null }
        $actual = [ordered]@{ A = 1; B = 'x'; C = [datetime]::new(2024, 1, 1, 0, 0, 0, [DateTimeKind]::Utc); D = @('only'); E = 0.1 }
        @(Compare-DeepValue -Expected $expected -Actual $actual) | Should -HaveCount 1 -Because 'the key lists differ (F is missing)'

        $expected.Remove('F')
        $diffs = @(Compare-DeepValue -Expected $expected -Actual $actual)
        $diffs | Should -HaveCount 2
        $diffs[0] | Should -BeLike '$.B:*'
        $diffs[1] | Should -BeLike '$.C:*'

        $actual.D = 'only'
        $actual.B = 'X'
        $actual.C = $expected.C
        @(Compare-DeepValue -Expected $expected -Actual $actual) | Should -Be @('$.D: expected an array (object[]) of 1, got System.String')
        @(Compare-DeepValue -Expected ([ordered]@{ N = 1 }) -Actual ([ordered]@{ N = [long]1 })) | Should -HaveCount 1 -Because 'an int must not come back as a long'
        @(Compare-DeepValue -Expected ([double]::NegativeZero) -Actual 0.0) | Should -HaveCount 1 -Because 'negative zero must keep its sign'
        @(Compare-DeepValue -Expected 1.50d -Actual 1.5d) | Should -HaveCount 1 -Because 'a decimal keeps its scale'
        @(Compare-DeepValue -Expected @{ a = 1 } -Actual ([pscustomobject]@{ a = 1 })) | Should -HaveCount 1 -Because 'a hashtable must not come back as a [pscustomobject]'
        @(Compare-DeepValue -Expected ([ordered]@{ a = 1 }) -Actual @{ a = 1 }) | Should -HaveCount 1 -Because 'an [ordered] dictionary must not come back as a hashtable'
        @(Compare-DeepValue -Expected ([guid]::Empty) -Actual ([guid]::Empty).ToString()) | Should -HaveCount 1 -Because 'a guid must not come back as a string'
        @(Compare-DeepValue -Expected ([DateTimeOffset]::new(2024, 1, 1, 0, 0, 0, [timespan]::FromHours(2))) -Actual ([DateTimeOffset]::new(2023, 12, 31, 22, 0, 0, [timespan]::Zero))) |
            Should -HaveCount 1 -Because 'a DateTimeOffset keeps its offset, not only its instant'
        @(Compare-DeepValue -Expected @{ b = 2; a = 1 } -Actual @{ a = 1; b = 2 }) | Should -BeNullOrEmpty -Because 'a hashtable has no order to keep'
    }
}

Describe 'Step outputs survive the JSON round trip' {
    Context 'within one process' {
        BeforeAll {
            $script:Seen = @{}
            $seen = $script:Seen
            $payload = New-RoundTripPayload
            $steps = [ordered]@{
                produce = { $payload }.GetNewClosure()
                inspect = {
                    param($Previous)
                    $seen.Previous = $Previous
                    $seen.Dollar = $_
                    $seen.Context = $ArcpStep.PreviousOutput
                    'inspected'
                }.GetNewClosure()
            }
            $script:Job = Start-ArcpJob -Step $steps -Name 'json-roundtrip' -Store $script:Store -ErrorAction Stop
        }

        It 'completes the job' {
            $script:Job.State | Should -Be 'Completed'
            $script:Job.Result | Should -BeExactly 'inspected'
        }

        It 'hands the next step an equal value as $Previous, $_ and $ArcpStep.PreviousOutput' {
            $compared = 0
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $script:Seen.Previous -Path '$Previous' -Counter ([ref]$compared) | Should -BeNullOrEmpty
            $compared | Should -BeGreaterThan 35 -Because 'every leaf of the payload is compared'
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $script:Seen.Dollar -Path '$_' | Should -BeNullOrEmpty
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $script:Seen.Context -Path '$ArcpStep.PreviousOutput' | Should -BeNullOrEmpty
        }

        It 'keeps the shapes that matter (spot checks independent of the comparer)' {
            $v = $script:Seen.Previous
            $v | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
            @($v.Keys)[0..3] | Should -Be @('Text', 'Unicode', 'EmptyString', 'Int')
            $v.Unicode | Should -BeExactly (New-RoundTripPayload).Unicode
            $v.Long | Should -BeOfType [long]
            $v.Long | Should -Be 9007199254740993L
            $v.Decimal | Should -BeOfType [decimal]
            $v.Decimal | Should -Be 1.2345678901234567890123456789d
            $v.Double | Should -BeOfType [double]
            $v.WholeDouble | Should -BeOfType [double]
            $v.Null | Should -BeNullOrEmpty
            $v.Contains('Null') | Should -BeTrue
            $v.False | Should -BeOfType [bool]
            $v.Utc.Kind | Should -Be 'Utc'
            $v.Utc.Ticks | Should -Be (New-RoundTripPayload).Utc.Ticks
            $v.Local.Kind | Should -Be 'Local'
            $v.Offset | Should -BeOfType [DateTimeOffset]
            $v.Offset.Offset | Should -Be ([timespan]::FromHours(5.5))
            , $v.SingleString | Should -BeOfType [object[]]
            $v.SingleString.Count | Should -Be 1
            , $v.EmptyArray | Should -BeOfType [object[]]
            $v.EmptyArray.Count | Should -Be 0
            $v.Nested.Level1.Level2.Numbers | Should -Be @(1, 2, 3)
        }

        It 'hands the first step an -InputObject equal to the one given' {
            $first = @{}
            $job = Start-ArcpJob -Step ([ordered]@{ take = { $first.Seen = $_; 'taken' }.GetNewClosure() }) -InputObject (New-RoundTripPayload) -Store $script:Store -ErrorAction Stop
            $job.State | Should -Be 'Completed'
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $first.Seen -Path '-InputObject' | Should -BeNullOrEmpty
        }

        It 'reads the same value back with Get-ArcpCheckpoint' {
            $checkpoints = @(Get-ArcpCheckpoint -JobId $script:Job.JobId -Store $script:Store -ErrorAction Stop)
            $checkpoints.Step | Should -Be @('produce', 'inspect')
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $checkpoints[0].Output -Path 'Output' | Should -BeNullOrEmpty
            $checkpoints[1].Output | Should -BeExactly 'inspected'
        }
    }

    Context 'across a process crash (both processes in another time zone)' {
        BeforeAll {
            $folder = New-TestFolder
            $script:CrashStore = New-TestStore -Folder $folder
            $script:SeenFile = Join-Path $folder 'seen.json'
            $stepFile = Get-FixturePath 'roundtrip-steps.ps1'
            $runJob = Get-FixturePath 'run-job.ps1'
            # A zone that is neither UTC nor the test machine's, with a half-hour offset (honoured on Linux/macOS).
            $environment = @{ ARCP_STORE = $script:CrashStore; ARCP_TEST_SEEN = $script:SeenFile; TZ = 'Asia/Kolkata' }

            $script:First = Start-ChildPwsh $runJob -ArgumentList '-Mode', 'Start', '-StepFile', $stepFile, '-CrashAfter', 'produce' -Environment $environment
            $script:JobAfterCrash = @(Get-ArcpJob -Store $script:CrashStore -ErrorAction Stop)
            $script:CheckpointsAfterCrash = @(Get-ArcpCheckpoint -JobId $script:JobAfterCrash[0].JobId -Store $script:CrashStore -ErrorAction Stop)
            $script:Second = Start-ChildPwsh $runJob -ArgumentList '-Mode', 'Resume', '-JobId', $script:JobAfterCrash[0].JobId, '-StepFile', $stepFile -Environment $environment
        }

        It 'dies right after the produce checkpoint and leaves the job Interrupted' {
            $script:First.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:First)
            $script:JobAfterCrash | Should -HaveCount 1
            $script:JobAfterCrash[0].State | Should -Be 'Interrupted'
            $script:CheckpointsAfterCrash.Step | Should -Be @('produce')
        }

        It 'reads the recorded output back equal in this process, after the producer died' {
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $script:CheckpointsAfterCrash[0].Output -Path 'Output' | Should -BeNullOrEmpty
        }

        It 'hands the resumed next step, in a new process, an equal value' {
            $script:Second.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Second)
            $script:SeenFile | Should -Exist
            $seen = Get-Content -LiteralPath $script:SeenFile -Raw | ConvertFrom-Json
            @($seen.Differences) | Should -BeNullOrEmpty
            $seen.Compared | Should -BeGreaterThan 35
            $zoneKnown = try { $null = [TimeZoneInfo]::FindSystemTimeZoneById('Asia/Kolkata'); $true } catch { $false }
            if (($IsLinux -or $IsMacOS) -and $zoneKnown) {
                $seen.UtcOffset | Should -Be '05:30:00' -Because 'the child ran with TZ=Asia/Kolkata, so Local dates differ from UTC'
            }
            (Get-ArcpJob -JobId $script:JobAfterCrash[0].JobId -Store $script:CrashStore).State | Should -Be 'Completed'
        }
    }
}

Describe 'Outputs that cannot be recorded fail the step' {
    BeforeDiscovery {
        $script:BadOutputs = @(
            @{
                Case = 'a value nested 65 levels deep'
                Path = '$' + ('.n' * 64)
                Text = 'deeper than the limit of 64'
                Build = { $v = 'leaf'; for ($i = 0; $i -lt 65; $i++) { $v = [ordered]@{ n = $v } }; $v }
            }
            @{
                Case = 'a directory item (Get-Item $PSHOME)'
                Path = '$.Items[1]'
                Text = 'System.IO.DirectoryInfo'
                Build = { [ordered]@{ Ok = 1; Items = @('fine', (Get-Item -LiteralPath $PSHOME)) } }
            }
            @{
                Case = 'a script block'
                Path = '$.Callback'
                Text = 'System.Management.Automation.ScriptBlock'
                Build = { [pscustomobject]@{ Name = 'x'; Callback = { 'not data' } } }
            }
        )
    }

    It 'fails on <Case>: job Failed, INVALID_ARGUMENT naming <Path>, earlier checkpoints kept' -ForEach $script:BadOutputs {
        $build = $Build
        $steps = [ordered]@{
            first  = { 'first output' }
            second = { [pscustomobject]@{ Kept = $true; From = $_ } }
            bad    = { & $build }.GetNewClosure()
            never  = { throw 'must not run after a failed step' }
        }
        $err = $null
        $job = Start-ArcpJob -Step $steps -Store $script:Store -ErrorVariable err -ErrorAction SilentlyContinue

        $job | Should -Not -BeNullOrEmpty -Because 'a failed job is still returned'
        $job.State | Should -Be 'Failed'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($err[0])" | Should -Match ([regex]::Escape("at $Path ")) -Because 'the message names where the value sits'
        "$($err[0])" | Should -Match ([regex]::Escape($Text))
        "$($err[0])" | Should -Match "Step 'bad'"

        $stored = Get-ArcpJob -JobId $job.JobId -Store $script:Store
        $stored.State | Should -Be 'Failed'
        $stored.Error.Code | Should -Be 'INVALID_ARGUMENT'
        $stored.Error.Details.path | Should -BeExactly $Path
        $checkpoints = @(Get-ArcpCheckpoint -JobId $job.JobId -Store $script:Store -ErrorAction Stop)
        $checkpoints.Step | Should -Be @('first', 'second')
        $checkpoints[0].Output | Should -BeExactly 'first output'
        $checkpoints[1].Output.Kept | Should -BeTrue
        $checkpoints[1].Output.From | Should -BeExactly 'first output'
    }

    It 'accepts a value nested exactly 64 levels deep and reads it back' {
        $steps = [ordered]@{
            deep = { $v = 'leaf'; for ($i = 0; $i -lt 64; $i++) { $v = [ordered]@{ n = $v } }; $v }
        }
        $job = Start-ArcpJob -Step $steps -Store $script:Store -ErrorAction Stop
        $job.State | Should -Be 'Completed'
        $v = (Get-ArcpCheckpoint -JobId $job.JobId -Store $script:Store -ErrorAction Stop).Output
        for ($i = 0; $i -lt 64; $i++) { $v = $v.n }
        $v | Should -BeExactly 'leaf'
    }
}

Describe 'Every type reaches the next step as itself, with and without a crash in between' {
    BeforeDiscovery {
        # Case (an entry of Fixtures/typed-values.ps1) and the type the next step must receive, written out
        # here rather than derived, so the table checks the types independently of the comparer.
        $script:TypedCases = @(
            @{ Case = 'Hashtable'; Type = 'System.Collections.Hashtable' }
            @{ Case = 'Ordered'; Type = 'System.Collections.Specialized.OrderedDictionary' }
            @{ Case = 'PSCustomObject'; Type = 'pscustomobject' }
            @{ Case = 'EmptyHashtable'; Type = 'System.Collections.Hashtable' }
            @{ Case = 'TagLikeKey'; Type = 'System.Collections.Hashtable' }
            @{ Case = 'Array'; Type = 'System.Object[]' }
            @{ Case = 'EmptyArray'; Type = 'System.Object[]' }
            @{ Case = 'SingleItemArray'; Type = 'System.Object[]' }
            @{ Case = 'IntArray'; Type = 'System.Object[]' }
            @{ Case = 'Bytes'; Type = 'System.Byte[]' }
            @{ Case = 'Guid'; Type = 'System.Guid' }
            @{ Case = 'Version'; Type = 'System.Version' }
            @{ Case = 'TimeSpan'; Type = 'System.TimeSpan' }
            @{ Case = 'Uri'; Type = 'System.Uri' }
            @{ Case = 'RelativeUri'; Type = 'System.Uri' }
            @{ Case = 'UtcDate'; Type = 'System.DateTime' }
            @{ Case = 'LocalDate'; Type = 'System.DateTime' }
            @{ Case = 'UnspecifiedDate'; Type = 'System.DateTime' }
            @{ Case = 'DateTimeOffset'; Type = 'System.DateTimeOffset' }
            @{ Case = 'DateLikeString'; Type = 'System.String' }
            @{ Case = 'Decimal'; Type = 'System.Decimal' }
            @{ Case = 'DecimalScale'; Type = 'System.Decimal' }
            @{ Case = 'BigInteger'; Type = 'System.Numerics.BigInteger' }
            @{ Case = 'Int'; Type = 'System.Int32' }
            @{ Case = 'SmallLong'; Type = 'System.Int64' }
            @{ Case = 'BigLong'; Type = 'System.Int64' }
            @{ Case = 'Byte'; Type = 'System.Byte' }
            @{ Case = 'UInt64'; Type = 'System.UInt64' }
            @{ Case = 'Double'; Type = 'System.Double' }
            @{ Case = 'WholeDouble'; Type = 'System.Double' }
            @{ Case = 'NegativeZero'; Type = 'System.Double' }
            @{ Case = 'NaN'; Type = 'System.Double' }
            @{ Case = 'Infinity'; Type = 'System.Double' }
            @{ Case = 'Single'; Type = 'System.Single' }
            @{ Case = 'True'; Type = 'System.Boolean' }
            @{ Case = 'Char'; Type = 'System.Char' }
            @{ Case = 'Null'; Type = 'null' }
            @{ Case = 'EmptyString'; Type = 'System.String' }
            @{ Case = 'DayOfWeek'; Type = 'System.DayOfWeek' }
            @{ Case = 'FlagsEnum'; Type = 'System.IO.FileAttributes' }
            @{ Case = 'ScriptEnum'; Type = 'ArcpTestShade' }
        )
    }

    BeforeAll {
        $stepFile = Get-FixturePath 'typed-steps.ps1'
        $runJob = Get-FixturePath 'run-job.ps1'
        # The values as the producing step built them, described in this process (which loads [ArcpTestShade] too).
        $table = & (Get-FixturePath 'typed-values.ps1')
        $script:ExpectedDescription = @{}
        foreach ($key in $table.Keys) {
            $value = $table[$key]
            # Typed arrays other than byte[] arrive as object[] whose elements keep their type (see docs/protocol.md).
            if ($value -is [array] -and $value -isnot [byte[]] -and $value -isnot [object[]]) { $value = [object[]]$value }
            $script:ExpectedDescription[$key] = Get-ValueDescription $value
        }

        function New-TypedRun([string]$Name) {
            $folder = New-TestFolder
            $seen = Join-Path $folder 'seen'
            $null = New-Item -ItemType Directory -Path $seen
            # Both runs in a zone that is neither UTC nor the test machine's (honoured on Linux/macOS).
            [pscustomobject]@{
                Name = $Name; Store = Join-Path $folder 'arcp.db'; Seen = $seen
                Environment = @{ ARCP_STORE = (Join-Path $folder 'arcp.db'); ARCP_TEST_SEEN = $seen; TZ = 'Asia/Kolkata' }
            }
        }
        $script:Crash = New-TypedRun 'crash'
        $script:NoCrash = New-TypedRun 'no crash'

        # The uninterrupted run goes side by side with the first crashing child (independent stores).
        $straight = Start-ChildPwsh $runJob -NoWait -Environment $script:NoCrash.Environment -ArgumentList '-Mode', 'Start', '-StepFile', $stepFile
        # A real crash between every two steps: the child SIGKILLs itself right after the checkpoint is durable.
        $script:CrashedAfterProduce = Start-ChildPwsh $runJob -Environment $script:Crash.Environment -ArgumentList '-Mode', 'Start', '-StepFile', $stepFile, '-CrashAfter', 'produce'
        $script:StraightRun = Wait-ChildPwsh -Handle $straight
        $script:CrashJobId = @(Get-ArcpJob -Store $script:Crash.Store -ErrorAction Stop)[0].JobId
        $script:CrashedAfterInspect = Start-ChildPwsh $runJob -Environment $script:Crash.Environment -ArgumentList '-Mode', 'Resume', '-JobId', $script:CrashJobId, '-StepFile', $stepFile, '-CrashAfter', 'inspect'
        $script:Finished = Start-ChildPwsh $runJob -Environment $script:Crash.Environment -ArgumentList '-Mode', 'Resume', '-JobId', $script:CrashJobId, '-StepFile', $stepFile

        function Read-Seen($Run, [string]$Name) {
            $path = Join-Path $Run.Seen $Name
            if (Test-Path -LiteralPath $path) { Get-Content -LiteralPath $path -Raw | ConvertFrom-Json }
        }
        $script:CrashInspect = Read-Seen $script:Crash 'inspect.json'
        $script:NoCrashInspect = Read-Seen $script:NoCrash 'inspect.json'
        $script:CrashFinish = Read-Seen $script:Crash 'finish.json'
        $script:NoCrashFinish = Read-Seen $script:NoCrash 'finish.json'
    }

    It 'kills the worker after produce and after inspect, and completes on the third process; the straight run completes' {
        $script:CrashedAfterProduce.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:CrashedAfterProduce)
        $script:CrashedAfterInspect.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:CrashedAfterInspect)
        $script:Finished.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Finished)
        $script:StraightRun.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:StraightRun)
        (Get-ArcpJob -JobId $script:CrashJobId -Store $script:Crash.Store).State | Should -Be 'Completed'
        $script:ExpectedDescription.Count | Should -BeGreaterOrEqual 25
    }

    It '<Case> arrives as <Type> with the value it had, after a crash and without one' -ForEach $script:TypedCases {
        $expected = $script:ExpectedDescription[$Case]
        $expected | Should -Not -BeNullOrEmpty -Because "the table has a '$Case' entry"
        if ($Type -eq 'null') { $expected | Should -BeExactly 'null' }
        else { $expected.StartsWith($Type, [StringComparison]::Ordinal) | Should -BeTrue -Because "'$expected' must describe a $Type" }
        $script:CrashInspect.Entries.$Case | Should -BeExactly $expected -Because 'the next step ran in a new process after a SIGKILL'
        $script:NoCrashInspect.Entries.$Case | Should -BeExactly $expected -Because 'the next step ran in the same process'
    }

    It 'hands an [ordered] dictionary and a [hashtable] on as themselves at the top level too' {
        $script:CrashInspect.Top | Should -Be 'System.Collections.Specialized.OrderedDictionary'
        $script:NoCrashInspect.Top | Should -Be 'System.Collections.Specialized.OrderedDictionary'
        $hashtable = Get-ValueDescription @{ Kind = 'top-level hashtable'; At = [DateTimeOffset]::new(2024, 1, 2, 3, 4, 5, [TimeSpan]::FromHours(-3)) }
        $script:CrashFinish | Should -BeExactly $hashtable
        $script:NoCrashFinish | Should -BeExactly $hashtable
    }

    It 'reads the same types back with Get-ArcpCheckpoint in another process' {
        $checkpoints = @(Get-ArcpCheckpoint -JobId $script:CrashJobId -Store $script:Crash.Store -ErrorAction Stop)
        $checkpoints.Step | Should -Be @('produce', 'inspect', 'finish')
        $output = $checkpoints[0].Output
        $output | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        foreach ($key in $script:ExpectedDescription.Keys) {
            Get-ValueDescription $output[$key] | Should -BeExactly $script:ExpectedDescription[$key] -Because "checkpoint output entry '$key'"
        }
        $checkpoints[1].Output | Should -BeOfType [hashtable]
        $checkpoints[1].Output.At | Should -BeOfType [DateTimeOffset]
    }

    It 'gives the name of an enum whose type is not loaded, with a warning naming the type' {
        $child = Start-ChildPwsh -ScriptText @"
Import-Module `$env:ARCP_MODULE_PATH
`$checkpoint = Get-ArcpCheckpoint -JobId '$($script:CrashJobId)' -Store '$($script:Crash.Store)' -WarningVariable warnings -WarningAction SilentlyContinue | Select-Object -First 1
'TYPE ' + `$checkpoint.Output['ScriptEnum'].GetType().FullName
'VALUE ' + `$checkpoint.Output['ScriptEnum']
'DAY ' + `$checkpoint.Output['DayOfWeek'].GetType().FullName
'WARNINGS ' + @(`$warnings).Count
'WARNING ' + `$warnings[0]
"@
        $child.ExitCode | Should -Be 0 -Because (Format-ChildResult $child)
        $child.Output | Should -Contain 'TYPE System.String'
        $child.Output | Should -Contain 'VALUE Dark'
        $child.Output | Should -Contain 'DAY System.DayOfWeek'
        $child.Output | Should -Contain 'WARNINGS 1'
        ($child.Output -match '^WARNING ') | Should -Match "step 'produce'.*'Dark' of the enum \[ArcpTestShade\], which is not loaded"
    }
}

Describe 'Secrets are never recorded' {
    It 'fails a step that returns a <Case> with INVALID_ARGUMENT naming the step and SecretManagement' -ForEach @(
        @{ Case = 'PSCredential'; Path = '$'; Build = { [pscredential]::new('user', (ConvertTo-SecureString 'not-a-real-password' -AsPlainText -Force)) } }
        @{ Case = 'SecureString inside a hashtable'; Path = '$.Login.Password'; Build = { @{ Login = @{ User = 'u'; Password = (ConvertTo-SecureString 'not-a-real-password' -AsPlainText -Force) } } } }
    ) {
        $build = $Build
        $err = $null
        $job = Start-ArcpJob -Step ([ordered]@{ first = { 'kept' }; login = { & $build }.GetNewClosure() }) -Store $script:Store -ErrorVariable err -ErrorAction SilentlyContinue

        $job.State | Should -Be 'Failed'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        "$($err[0])" | Should -Match "Step 'login'"
        "$($err[0])" | Should -Match ([regex]::Escape("Step output at $Path is a "))
        "$($err[0])" | Should -Match 'a secret'
        "$($err[0])" | Should -Match 'SecretManagement'
        "$($err[0])" | Should -Not -Match 'not-a-real-password'
        @(Get-ArcpCheckpoint -JobId $job.JobId -Store $script:Store).Step | Should -Be @('first')
    }

    It 'refuses a credential as job input, calling it job input and recording no job' {
        $before = @(Get-ArcpJob -Store $script:Store).Count
        $credential = [pscredential]::new('user', (ConvertTo-SecureString 'not-a-real-password' -AsPlainText -Force))
        $err = $null
        $job = Start-ArcpJob -Step ([ordered]@{ only = { $_ } }) -InputObject @{ Credential = $credential } -Store $script:Store -ErrorVariable err -ErrorAction SilentlyContinue

        $job | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        "$($err[0])" | Should -Match ([regex]::Escape('Job input at $.Credential is a System.Management.Automation.PSCredential, a secret'))
        "$($err[0])" | Should -Match 'SecretManagement'
        "$($err[0])" | Should -Not -Match 'Step output'
        @(Get-ArcpJob -Store $script:Store).Count | Should -Be $before
    }
}
