#!/usr/bin/env python3
"""Writes the export files under bench/probes/exports/ and expected.json (what each should ingest as).
Formats follow what the real products export; the contents are small, hand-written, realistic feedback."""
import csv, io, json, os, datetime
import pyarrow as pa, pyarrow.parquet as pq, openpyxl

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'exports')
os.makedirs(OUT, exist_ok=True)
EXP = {}

# 1. Google Play Console: reviews_<package>_<yyyymm>.csv, UTF-16 (LE, BOM), fixed header, Review Link mostly empty
gp_header = ['Package Name', 'App Version Code', 'App Version Name', 'Reviewer Language', 'Device',
             'Review Submit Date and Time', 'Review Submit Millis Since Epoch', 'Review Last Update Date and Time',
             'Review Last Update Millis Since Epoch', 'Star Rating', 'Review Title', 'Review Text',
             'Developer Reply Date and Time', 'Developer Reply Millis Since Epoch', 'Developer Reply Text', 'Review Link']
gp = [
    ('2024-03-01T08:15:02Z', 5, '', 'Love the new widget, works great on my Pixel.', ''),
    ('2024-03-02T19:40:55Z', 1, '', "Crashes every time I open settings since the update. Unusable!", ''),
    ('2024-03-03T11:05:10Z', 3, '', 'Good app but the dark mode is way too grey, please add true black.', 'https://play.google.com/apps/publish?account=123#ReviewDetailsPlace:p=com.example.notes&reviewid=gp:AOqpTOE1'),
    ('2024-03-05T22:30:00Z', 2, '', 'Sync with my tablet loses notes, "100%" reproducible.', ''),
    ('2024-03-07T06:59:59Z', 4, '', "It's fine. I'd like folders; tags aren't enough.", ''),
    ('2024-03-09T13:13:13Z', 5, '', 'Best notes app, period. Überzeugend! 👍', ''),
]
rows = []
for i, (ts, stars, title, text, link) in enumerate(gp):
    ms = int(datetime.datetime.strptime(ts, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    rows.append(['com.example.notes', str(4100 + i % 2), '4.1.' + str(i % 2), 'en', 'oriole' if i % 2 else '',
                 ts, str(ms), ts, str(ms), str(stars), title, text, '', '', '', link])
b = io.StringIO(); csv.writer(b, lineterminator='\n').writerows([gp_header] + rows)
open(os.path.join(OUT, 'reviews_com.example.notes_202403.csv'), 'wb').write(b.getvalue().encode('utf-16'))
EXP['reviews_com.example.notes_202403.csv'] = {'source': 'play', 'rows': [
    {'text': t, 'rating': s, 'date': ts[:10]} for ts, s, _, t, _ in gp], 'needs': ['rating', 'time']}

# 2. App Store Connect API: GET /v1/apps/{id}/customerReviews
asc = [
    ('00000029-1234-0001', 5, 'Finally!', 'Does exactly what I need, nothing more.', 'jmb_84', '2024-02-11T09:12:44-07:00', 'USA'),
    ('00000029-1234-0002', 1, 'Login broken', "Can't log in with Apple ID since 3.2. Please fix.", 'anna.k', '2024-02-12T23:01:05-07:00', 'DEU'),
    ('00000029-1234-0003', 3, 'Okay', 'Nice design; subscription is too expensive at 9.99.', 'Tomás', '2024-02-14T14:30:00-07:00', 'ESP'),
    ('00000029-1234-0004', 2, 'Battery drain', 'Drains 20% battery per hour in background.', 'kiwi', '2024-02-15T01:00:00-07:00', 'NZL'),
    ('00000029-1234-0005', 4, 'Good', 'Great app, would like widgets <3 & shortcuts.', 'x_y_z', '2024-02-16T18:45:10-07:00', 'GBR'),
]
doc = {'data': [{'type': 'customerReviews', 'id': i, 'attributes': {'rating': r, 'title': t, 'body': body,
                 'reviewerNickname': nick, 'createdDate': cd, 'territory': terr},
                 'relationships': {'response': {'links': {'self': f'https://api.appstoreconnect.apple.com/v1/customerReviews/{i}/relationships/response',
                                                          'related': f'https://api.appstoreconnect.apple.com/v1/customerReviews/{i}/response'}}},
                 'links': {'self': f'https://api.appstoreconnect.apple.com/v1/customerReviews/{i}'}}
                for i, r, t, body, nick, cd, terr in asc],
       'links': {'self': 'https://api.appstoreconnect.apple.com/v1/apps/1234567890/customerReviews'},
       'meta': {'paging': {'total': len(asc), 'limit': 50}}}
json.dump(doc, open(os.path.join(OUT, 'app_store_customer_reviews.json'), 'w'), indent=2, ensure_ascii=False)
EXP['app_store_customer_reviews.json'] = {'source': 'appstore', 'rows': [
    {'text_contains': body, 'rating': r, 'date': (datetime.datetime.fromisoformat(cd).astimezone(datetime.timezone.utc)).strftime('%Y-%m-%d'),
     'author': nick} for i, r, t, body, nick, cd, terr in asc], 'needs': ['rating', 'time']}

# 3. Zendesk incremental/ticket export (tickets.json)
zd = [
    (101, 'Refund not received', 'I cancelled on May 2 and still have not received my refund of $12.99.', '2024-05-03T10:00:00Z', 'solved', 'high', 'bad'),
    (102, 'How to export data?', 'Is there a way to export all my notes to PDF? Thanks!', '2024-05-03T12:30:00Z', 'open', 'normal', 'unoffered'),
    (103, 'App freezes on login', "After entering my password the app freezes; I've reinstalled twice.", '2024-05-04T08:45:12Z', 'pending', 'urgent', 'offered'),
    (104, 'Great support', 'Just wanted to say thanks to Maria for the quick help :)', '2024-05-05T17:20:00Z', 'closed', 'low', 'good'),
]
tickets = [{'url': f'https://example.zendesk.com/api/v2/tickets/{i}.json', 'id': i, 'external_id': None,
            'via': {'channel': 'email', 'source': {'from': {}, 'to': {}, 'rel': None}},
            'created_at': c, 'updated_at': c, 'type': 'question', 'subject': s, 'raw_subject': s, 'description': desc,
            'priority': p, 'status': st, 'recipient': 'support@example.com', 'requester_id': 9000 + i,
            'submitter_id': 9000 + i, 'assignee_id': 77, 'organization_id': None, 'group_id': 5, 'tags': ['app', st],
            'satisfaction_rating': {'score': sat}, 'custom_fields': [], 'brand_id': 1}
           for i, s, desc, c, st, p, sat in zd]
json.dump({'tickets': tickets, 'next_page': None, 'previous_page': None, 'count': len(tickets)},
          open(os.path.join(OUT, 'zendesk_tickets.json'), 'w'), indent=2)
EXP['zendesk_tickets.json'] = {'source': 'tickets', 'rows': [
    {'text_contains': desc, 'date': c[:10]} for i, s, desc, c, st, p, sat in zd], 'needs': ['time']}

# 4. GitHub REST API: GET /repos/{owner}/{repo}/issues
gh = [
    (41, 'Crash when importing a 2 GB CSV', 'Steps:\n1. Import big.csv\n2. App exits with SIGSEGV', 'octocat', '2024-04-01T09:00:00Z', ['bug']),
    (42, 'Feature: keyboard shortcut for search', None, 'hubot', '2024-04-02T10:11:12Z', ['enhancement']),
    (43, "Docs typo in README: 'recieve'", 'Should be "receive".', 'mona', '2024-04-03T11:22:33Z', ['docs', 'good first issue']),
]
issues = [{'url': f'https://api.github.com/repos/acme/notes/issues/{n}', 'html_url': f'https://github.com/acme/notes/issues/{n}',
           'id': 2000000000 + n, 'node_id': f'I_kwDO{n}', 'number': n, 'title': t, 'body': body,
           'user': {'login': login, 'id': 1000 + n, 'type': 'User', 'site_admin': False},
           'labels': [{'id': 1, 'name': l, 'color': 'd73a4a', 'default': False} for l in labels],
           'state': 'open', 'locked': False, 'assignee': None, 'assignees': [], 'milestone': None, 'comments': n % 4,
           'created_at': c, 'updated_at': c, 'closed_at': None, 'author_association': 'NONE',
           'reactions': {'total_count': 0, '+1': 0, '-1': 0}, 'state_reason': None}
          for n, t, body, login, c, labels in gh]
json.dump(issues, open(os.path.join(OUT, 'github_issues_rest.json'), 'w'), indent=2)
EXP['github_issues_rest.json'] = {'source': 'issues', 'rows': [
    {'text_contains': t, 'text_contains2': body, 'date': c[:10], 'author': login} for n, t, body, login, c, labels in gh],
    'needs': ['time']}

# 5. Typeform-style survey CSV export (question texts are the headers)
ty_header = ['#', 'How likely are you to recommend Notes to a friend or colleague?', 'What is the main reason for your score?',
             'Which plan are you on?', 'Start Date (UTC)', 'Submit Date (UTC)', 'Network ID', 'Tags']
ty = [
    ('a1b2c3', 9, 'Fast and simple, syncs everywhere.', 'Free', '2024-06-01 10:00:05', '2024-06-01 10:01:30'),
    ('d4e5f6', 3, 'Too many bugs lately, lost a note twice.', 'Pro', '2024-06-01 11:12:00', '2024-06-01 11:14:09'),
    ('g7h8i9', 7, 'Good, but pricing went up 50% this year.', 'Pro', '2024-06-02 09:30:00', '2024-06-02 09:33:41'),
    ('j0k1l2', 10, "Couldn't live without it.", 'Team', '2024-06-03 16:45:00', '2024-06-03 16:46:02'),
    ('m3n4o5', 0, 'Support never answered my ticket.', 'Free', '2024-06-04 20:00:00', '2024-06-04 20:02:15'),
]
b = io.StringIO(); w = csv.writer(b, lineterminator='\r\n'); w.writerow(ty_header)
for tok, nps, why, plan, st, sub in ty:
    w.writerow([tok, nps, why, plan, st, sub, 'f1e2d3c4b5', ''])
open(os.path.join(OUT, 'typeform_nps_responses.csv'), 'w', encoding='utf-8', newline='').write(b.getvalue())
EXP['typeform_nps_responses.csv'] = {'source': 'survey', 'rows': [
    {'text': why, 'date': sub[:10], 'score': nps} for tok, nps, why, plan, st, sub in ty], 'needs': ['time'],
    'note': 'NPS 0-10 score recorded but not required as rating'}

# 6. Excel .xlsx (a hand-kept feedback log, first sheet, header row, real date cells)
wb = openpyxl.Workbook(); ws = wb.active; ws.title = 'Feedback'
ws.append(['Date', 'Customer', 'Channel', 'Rating', 'Comment'])
xl = [
    (datetime.datetime(2024, 1, 8, 9, 30), 'ACME GmbH', 'phone', 2, 'Invoices export as PDF is broken for umlauts (ä, ö, ü).'),
    (datetime.datetime(2024, 1, 9, 14, 0), 'Globex', 'email', 5, 'Onboarding was smooth, thanks!'),
    (datetime.datetime(2024, 1, 10, 16, 45), 'Initech', 'chat', 3, 'Search is slow with >10k notes.'),
    (datetime.datetime(2024, 1, 12, 11, 5), 'Umbrella', 'email', 1, "Data loss after sync — we're evaluating alternatives."),
]
for r in xl:
    ws.append(list(r))
wb.save(os.path.join(OUT, 'feedback_log.xlsx'))
EXP['feedback_log.xlsx'] = {'source': 'xlsx', 'rows': [
    {'text': c, 'rating': r, 'date': dt.strftime('%Y-%m-%d')} for dt, cu, ch, r, c in xl], 'needs': ['rating', 'time']}

# 7. Parquet (warehouse dump: typed timestamp and int columns)
pqrows = [
    (5001, datetime.datetime(2023, 11, 20, 8, 0, tzinfo=datetime.timezone.utc), 4, 'web', 'Like the new editor toolbar.'),
    (5002, datetime.datetime(2023, 11, 21, 9, 15, tzinfo=datetime.timezone.utc), 1, 'ios', 'Keyboard covers the text field on iPad.'),
    (5003, datetime.datetime(2023, 11, 22, 10, 30, tzinfo=datetime.timezone.utc), 3, 'android', 'Sometimes notifications arrive twice.'),
    (5004, datetime.datetime(2023, 11, 23, 23, 59, tzinfo=datetime.timezone.utc), 5, 'web', 'Perfect for my thesis notes; 100% recommend.'),
    (5005, datetime.datetime(2023, 11, 24, 12, 0, tzinfo=datetime.timezone.utc), 2, 'ios', 'The share sheet extension crashes.'),
]
t = pa.table({'feedback_id': pa.array([r[0] for r in pqrows], pa.int64()),
              'submitted_at': pa.array([r[1] for r in pqrows], pa.timestamp('us', tz='UTC')),
              'stars': pa.array([r[2] for r in pqrows], pa.int32()),
              'platform': [r[3] for r in pqrows], 'feedback_text': [r[4] for r in pqrows]})
pq.write_table(t, os.path.join(OUT, 'feedback_dump.parquet'))
EXP['feedback_dump.parquet'] = {'source': 'dump', 'rows': [
    {'text': r[4], 'rating': r[2], 'date': r[1].strftime('%Y-%m-%d')} for r in pqrows], 'needs': ['rating', 'time']}

# 8. TSV (e.g. an export from a support tool / spreadsheet "save as TSV"), text with commas and quotes
tsv = [
    ('r-1', '2024-07-01', 4, 'Works well, though "smart folders" are confusing.'),
    ('r-2', '2024-07-02', 2, 'After update 5.0, widgets are blank; tried reboot, no luck.'),
    ('r-3', '2024-07-02', 5, 'Five stars: fast, clean, no ads.'),
    ('r-4', '2024-07-04', 1, "Won't open on Android 9, stuck on splash."),
]
with open(os.path.join(OUT, 'reviews_export.tsv'), 'w', encoding='utf-8', newline='') as f:
    f.write('review_id\tdate\tscore\tcomment\n')
    for r in tsv:
        f.write('\t'.join(map(str, r)) + '\n')
EXP['reviews_export.tsv'] = {'source': 'tsv', 'rows': [
    {'text': c, 'rating': s, 'date': dt} for i, dt, s, c in tsv], 'needs': ['rating', 'time']}

json.dump(EXP, open(os.path.join(OUT, 'expected.json'), 'w'), indent=1, ensure_ascii=False)
print('wrote', len(EXP), 'export files to', OUT)
