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
    It 'reports a changed leaf, a lost single-element array, a changed date kind and a missing property' {
        $actual = [pscustomobject]@{ A = 1; B = 'x'; C = [datetime]::new(2024, 1, 1, 0, 0, 0, [DateTimeKind]::Utc); D = @('only'); E = 0.1 }
        $expected = [ordered]@{ A = 1; B = 'X'; C = [datetime]::new(2024, 1, 1, 0, 0, 0, [DateTimeKind]::Local); D = @('only'); E = 0.1; F = $null }
        @(Compare-DeepValue -Expected $expected -Actual $actual) | Should -HaveCount 1 -Because 'the property lists differ (F is missing)'

        $expected.Remove('F')
        $diffs = @(Compare-DeepValue -Expected $expected -Actual $actual)
        $diffs | Should -HaveCount 2
        $diffs[0] | Should -BeLike '$.B:*'
        $diffs[1] | Should -BeLike '$.C:*kind*'

        $actual.D = 'only'
        $actual.B = 'X'
        $actual.C = $expected.C
        @(Compare-DeepValue -Expected $expected -Actual $actual) | Should -Be @('$.D: expected an array (object[]) of 1, got System.String')
        @(Compare-DeepValue -Expected ([ordered]@{ N = 1 }) -Actual ([pscustomobject]@{ N = [long]1 })) | Should -HaveCount 1 -Because 'an int must not come back as a long'
        @(Compare-DeepValue -Expected ([double]::NegativeZero) -Actual 0.0) | Should -HaveCount 1 -Because 'negative zero must keep its sign'
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
            $v | Should -BeOfType [pscustomobject]
            @($v.PSObject.Properties.Name)[0..3] | Should -Be @('Text', 'Unicode', 'EmptyString', 'Int')
            $v.Unicode | Should -BeExactly (New-RoundTripPayload).Unicode
            $v.Long | Should -BeOfType [long]
            $v.Long | Should -Be 9007199254740993L
            $v.Decimal | Should -BeOfType [decimal]
            $v.Decimal | Should -Be 1.2345678901234567890123456789d
            $v.Double | Should -BeOfType [double]
            $v.WholeDouble | Should -BeOfType [double]
            $v.Null | Should -BeNullOrEmpty
            $v.PSObject.Properties.Name | Should -Contain 'Null'
            $v.False | Should -BeOfType [bool]
            $v.Utc.Kind | Should -Be 'Utc'
            $v.Utc.Ticks | Should -Be (New-RoundTripPayload).Utc.Ticks
            $v.Local.Kind | Should -Be 'Local'
            ([DateTimeOffset]$v.Offset).UtcTicks | Should -Be (New-RoundTripPayload).Offset.UtcTicks
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
